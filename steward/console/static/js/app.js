// The console's frame: sign-in, navigation between pages by the URL's fragment, and the live
// refresh of whichever page is open (each page's timers end when the user leaves it).

import { REGION, credentials, signIn, signOut } from "./api.js";
import { errorBox, field, h, replace } from "./ui.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let timers = [];
let generation = 0;

const ROUTES = [
  [/^#\/clusters$/, () => import("./clusters.js").then((m) => m.clustersPage)],
  [/^#\/create$/, () => import("./create.js").then((m) => m.createPage)],
  [/^#\/cluster\/([^/]+)$/, () => import("./cluster.js").then((m) => m.clusterPage)],
  [/^#\/cluster\/([^/]+)\/charts$/, () => import("./charts.js").then((m) => m.chartsPage)],
  [/^#\/cluster\/([^/]+)\/topics$/, () => import("./topics.js").then((m) => m.topicsPage)],
  [/^#\/cluster\/([^/]+)\/topics\/([^/]+)$/, () => import("./topics.js").then((m) => m.topicPage)],
  [/^#\/cluster\/([^/]+)\/groups$/, () => import("./groups.js").then((m) => m.groupsPage)],
  [/^#\/cluster\/([^/]+)\/groups\/([^/]+)$/, () => import("./groups.js").then((m) => m.groupPage)],
];

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

function showNav(signedIn) {
  replace(
    nav,
    h("a", { href: "#/clusters", class: "brand" }, "Steward"),
    signedIn ? h("a", { href: "#/clusters" }, "Clusters") : null,
    signedIn ? h("a", { href: "#/create" }, "Create cluster") : null,
    h("span", { class: "spacer" }),
    signedIn
      ? h("span", { class: "who" }, credentials().accessKeyId, " · ", REGION,
        h("button", { class: "small", id: "sign-out", onclick: () => { signOut(); route(); } }, "Sign out"))
      : null,
  );
}

function signInPage(message) {
  showNav(false);
  const keyId = h("input", { name: "accessKeyId", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("input", { name: "secretAccessKey", type: "password", autocomplete: "current-password", required: true });
  const error = errorBox(message ? { message } : null);
  const form = h(
    "form",
    {
      class: "card narrow",
      id: "sign-in",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await signIn(keyId.value, secret.value);
          if (!location.hash || location.hash === "#/sign-in") location.hash = "#/clusters";
          route();
        } catch (e) {
          error.replaceWith(errorBox(e.status === 401 || e.status === 403
            ? { message: `Sign-in refused: ${e.message}` } : e));
        }
      },
    },
    h("h1", {}, "Sign in to Steward"),
    h("p", { class: "muted" },
      "Use an access key of this Steward (steward access-key create). The page signs every API call ",
      "with it; the secret stays in this tab and is never sent."),
    field("Access key ID", keyId),
    field("Secret access key", secret),
    error,
    h("button", { type: "submit" }, "Sign in"),
  );
  replace(main, form);
  keyId.focus();
}

async function route() {
  stopTimers();
  const mine = ++generation;
  if (!credentials()) return signInPage();
  showNav(true);
  const hash = location.hash || "#/clusters";
  for (const [pattern, load] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    const page = await load();
    if (mine !== generation) return;
    const params = match.slice(1).map(decodeURIComponent);
    const ctx = {
      main,
      params,
      current: () => mine === generation,
      every(fn, ms) {
        if (mine === generation) timers.push(setInterval(() => mine === generation && fn(), ms));
      },
    };
    replace(main, h("p", { class: "muted" }, "Loading…"));
    try {
      await page(ctx);
    } catch (e) {
      if (mine === generation) replace(main, errorBox(e));
    }
    return;
  }
  location.hash = "#/clusters";
}

window.addEventListener("hashchange", route);
window.addEventListener("steward:unauthorized", () => {
  signOut();
  stopTimers();
  signInPage("Steward no longer accepts this access key: sign in again.");
});
route();
