// Verifies IAM sign-ins on a broker's CLIENT_SASL_IAM listener, for both ways MSK clients sign
// in: SASL `AWS_MSK_IAM` (a JSON object of the query parameters of a SigV4-presigned
// `GET kafka://<broker host>/?Action=kafka-cluster:Connect`, sent by aws-msk-iam-auth) and
// SASL `OAUTHBEARER` (the same presigned request as a URL to `kafka.<region>.amazonaws.com`,
// base64url-encoded, sent by the aws-msk-iam-sasl-signer libraries and by aws-msk-iam-auth's
// OAUTHBEARER login handler).
//
// Set on the listener as `sasl.server.callback.handler.class` of each mechanism. It answers
// Kafka's `OAuthBearerValidatorCallback` (and ignores SASL extensions) and `IamSaslServer`'s
// `PayloadCallback`.
//
// The broker never sees a secret key. The node's agent keeps a file of SigV4 signing keys
// (`steward.iam.credentials.location`, JSON, mode 0600), the last step of SigV4's HMAC chain for
// yesterday, today and tomorrow of every access key that may sign in, each with the principal ARN
// it signs in as; the file is read again when it changes, at most once a second, so that a new or
// deleted key takes effect with no restart, and sign-ins go on when the control plane is away.
//
// Every refusal says why in the broker's log and adds one JSON line to
// `steward.iam.refusals.location`, which the control plane reads through the node's agent.
//
// `main` verifies one payload or token from the command line, for tests of this logic alone:
//   java -cp <kafka libs>:<plugin jar> steward.kafka.IamSignInVerifier \
//     CREDENTIALS_FILE HOSTS MECHANISM PAYLOAD_OR_TOKEN [NOW_EPOCH_MS]

package steward.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerExtensionsValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class IamSignInVerifier implements AuthenticateCallbackHandler {
  public static final String CREDENTIALS_LOCATION = "steward.iam.credentials.location";
  public static final String REFUSALS_LOCATION = "steward.iam.refusals.location";
  public static final String HOSTS = "steward.iam.hosts";
  public static final String AWS_MSK_IAM = "AWS_MSK_IAM";
  public static final String OAUTHBEARER = "OAUTHBEARER";

  // Why a sign-in was refused: the `reason` of a refusal record.
  public static final String MALFORMED = "malformed";
  public static final String WRONG_ACTION = "wrong action";
  public static final String WRONG_HOST = "wrong host";
  public static final String WRONG_REGION = "wrong region";
  public static final String CLOCK_SKEW = "clock skew";
  public static final String EXPIRED = "expired";
  public static final String UNKNOWN_KEY = "unknown key";
  public static final String MISSING_TOKEN = "missing token";
  public static final String WRONG_TOKEN = "wrong token";
  public static final String BAD_SIGNATURE = "bad signature";

  static final String PAYLOAD_VERSION = "2020_10_22";
  static final String ACTION = "kafka-cluster:Connect";
  static final String SERVICE = "kafka-cluster";
  static final String ALGORITHM = "AWS4-HMAC-SHA256";
  static final long MAX_SKEW_MS = 5 * 60 * 1000L;
  static final long MAX_EXPIRES_SECONDS = 3600L;
  private static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  private static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
  private static final long RELOAD_NANOS = 1_000_000_000L;
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger log = LoggerFactory.getLogger(IamSignInVerifier.class);

  /** One access key of the credentials file. */
  record SigningKey(
      String accessKeyId,
      String principalArn,
      String sessionTokenSha256,
      Long expiresMs,
      Map<String, byte[]> keysByDate) {}

  /** What a check decided: a principal and until when its signature holds, or a refusal. */
  public record Outcome(
      String principalArn,
      long lifetimeMs,
      String reason,
      String detail,
      String accessKeyId,
      String requestId) {
    public boolean accepted() {
      return reason == null;
    }
  }

  /** Asked of this handler by `IamSaslServer` with an AWS_MSK_IAM payload. */
  public static final class PayloadCallback implements Callback {
    final byte[] payload;
    Outcome outcome;

    public PayloadCallback(byte[] payload) {
      this.payload = payload;
    }

    public Outcome outcome() {
      return outcome;
    }
  }

  private Path credentials;
  private Path refusals;
  private Set<String> hosts = Set.of();
  private volatile String region;
  private volatile Map<String, SigningKey> keys = Map.of();
  private volatile long checkedAt;
  private volatile long readModified = Long.MIN_VALUE;
  private final Object reloading = new Object();
  private final Object appending = new Object();

  @Override
  public void configure(
      Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
    Object location = configs.get(CREDENTIALS_LOCATION);
    credentials = location == null ? null : Path.of(location.toString());
    Object refused = configs.get(REFUSALS_LOCATION);
    refusals = refused == null ? null : Path.of(refused.toString());
    Object names = configs.get(HOSTS);
    hosts = brokerHosts(names == null ? "" : names.toString());
    checkedAt = System.nanoTime() - RELOAD_NANOS;
  }

  /** The names a client may sign for this broker with: its listener hosts and what they resolve
   * to (a Java client signs for the name it looked the broker's address up by). */
  static Set<String> brokerHosts(String names) {
    Set<String> result = new LinkedHashSet<>();
    for (String name : names.split(",")) {
      String host = name.trim().toLowerCase();
      if (host.isEmpty()) continue;
      result.add(host);
      try {
        InetAddress address = InetAddress.getByName(host);
        result.add(address.getHostAddress().toLowerCase());
        result.add(address.getHostName().toLowerCase());
        result.add(address.getCanonicalHostName().toLowerCase());
      } catch (IOException e) {
        log.info("IAM sign-in: cannot resolve broker host {}: {}", host, e.toString());
      }
    }
    return Set.copyOf(result);
  }

  @Override
  public void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
    for (Callback callback : callbacks) {
      if (callback instanceof OAuthBearerValidatorCallback validator) {
        Outcome outcome = verifyToken(validator.tokenValue(), System.currentTimeMillis());
        if (outcome.accepted()) {
          validator.token(new Token(validator.tokenValue(), outcome));
        } else {
          refused(OAUTHBEARER, outcome);
          validator.error("invalid_token", null, null);
        }
      } else if (callback instanceof OAuthBearerExtensionsValidatorCallback) {
        continue; // no extensions are honoured; Kafka ignores the ones left unvalidated
      } else if (callback instanceof PayloadCallback payload) {
        Outcome outcome = verifyPayload(payload.payload, System.currentTimeMillis());
        if (!outcome.accepted()) refused(AWS_MSK_IAM, outcome);
        payload.outcome = outcome;
      } else {
        throw new UnsupportedCallbackException(callback);
      }
    }
  }

  @Override
  public void close() {}

  // --- the two formats ---------------------------------------------------------------------

  /** AWS_MSK_IAM: a JSON object of the presigned request's query parameters (lower-cased names),
   * plus `version`, `host` and `user-agent`. */
  Outcome verifyPayload(byte[] payload, long now) {
    reloadIfChanged();
    Map<String, String> fields = new HashMap<>();
    try {
      JsonNode root = JSON.readTree(payload);
      if (root == null || !root.isObject()) return refusal(MALFORMED, "not a JSON object", null);
      root.fields().forEachRemaining(e -> fields.put(e.getKey().toLowerCase(), e.getValue().asText()));
    } catch (IOException e) {
      return refusal(MALFORMED, "not JSON: " + e.getMessage(), null);
    }
    if (!PAYLOAD_VERSION.equals(fields.get("version"))) {
      return refusal(MALFORMED, "unknown payload version " + fields.get("version"), null);
    }
    String host = fields.getOrDefault("host", "");
    Map<String, String> query = new TreeMap<>();
    query.put("Action", fields.get("action"));
    query.put("X-Amz-Algorithm", fields.get("x-amz-algorithm"));
    query.put("X-Amz-Credential", fields.get("x-amz-credential"));
    query.put("X-Amz-Date", fields.get("x-amz-date"));
    query.put("X-Amz-Expires", fields.get("x-amz-expires"));
    query.put("X-Amz-SignedHeaders", fields.get("x-amz-signedheaders"));
    if (fields.containsKey("x-amz-security-token")) {
      query.put("X-Amz-Security-Token", fields.get("x-amz-security-token"));
    }
    for (Map.Entry<String, String> entry : query.entrySet()) {
      if (entry.getValue() == null) return refusal(MALFORMED, "no " + entry.getKey(), null);
    }
    if (!hosts.contains(host.toLowerCase())) {
      return refusal(
          WRONG_HOST, "signed for host " + host + ", this broker is " + hosts, accessKey(query));
    }
    return verify(query, host, fields.get("x-amz-signature"), "/", now);
  }

  /** OAUTHBEARER: the presigned URL, base64url-encoded without padding. */
  Outcome verifyToken(String token, long now) {
    reloadIfChanged();
    URI url;
    try {
      String text = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      url = new URI(text);
    } catch (IllegalArgumentException | java.net.URISyntaxException e) {
      return refusal(MALFORMED, "the token is not a base64url-encoded URL", null);
    }
    String host = url.getHost() == null ? "" : url.getHost().toLowerCase();
    Map<String, String> query = new TreeMap<>();
    String signature = null;
    String raw = url.getRawQuery() == null ? "" : url.getRawQuery();
    for (String part : raw.split("&")) {
      if (part.isEmpty()) continue;
      int equals = part.indexOf('=');
      String name = decode(equals < 0 ? part : part.substring(0, equals));
      String value = equals < 0 ? "" : decode(part.substring(equals + 1));
      if (name.equals("X-Amz-Signature")) signature = value;
      else if (!name.equals("User-Agent")) query.put(name, value); // added after signing
    }
    String region = this.region;
    String regionHost = region == null ? null : "kafka." + region + ".amazonaws.com";
    if (!host.equals(regionHost) && !hosts.contains(host)) {
      return refusal(
          WRONG_HOST,
          "signed for host " + host + ", this broker is " + regionHost + " or " + hosts,
          accessKey(query));
    }
    String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
    return verify(query, host, signature, path, now);
  }

  // --- SigV4 -------------------------------------------------------------------------------

  private Outcome verify(
      Map<String, String> query, String host, String signature, String path, long now) {
    String keyId = accessKey(query);
    if (!ACTION.equals(query.get("Action"))) {
      return refusal(WRONG_ACTION, "the action is " + query.get("Action") + ", not " + ACTION, keyId);
    }
    if (!ALGORITHM.equals(query.get("X-Amz-Algorithm"))) {
      return refusal(MALFORMED, "the algorithm is " + query.get("X-Amz-Algorithm"), keyId);
    }
    if (signature == null || signature.isEmpty()) {
      return refusal(MALFORMED, "no signature", keyId);
    }
    String[] scope = String.valueOf(query.get("X-Amz-Credential")).split("/");
    if (scope.length != 5 || !"aws4_request".equals(scope[4])) {
      return refusal(MALFORMED, "the credential scope is " + query.get("X-Amz-Credential"), keyId);
    }
    if (!SERVICE.equals(scope[3])) {
      return refusal(MALFORMED, "signed for service " + scope[3] + ", not " + SERVICE, keyId);
    }
    long signedAt;
    long expiresSeconds;
    try {
      signedAt =
          LocalDateTime.parse(String.valueOf(query.get("X-Amz-Date")), AMZ_DATE)
              .toInstant(ZoneOffset.UTC)
              .toEpochMilli();
      expiresSeconds = Long.parseLong(String.valueOf(query.get("X-Amz-Expires")));
    } catch (DateTimeParseException | NumberFormatException e) {
      return refusal(MALFORMED, "X-Amz-Date or X-Amz-Expires: " + e.getMessage(), keyId);
    }
    if (expiresSeconds <= 0 || expiresSeconds > MAX_EXPIRES_SECONDS) {
      return refusal(
          MALFORMED, "X-Amz-Expires " + expiresSeconds + " is not 1.." + MAX_EXPIRES_SECONDS, keyId);
    }
    if (!query.get("X-Amz-Date").startsWith(scope[1])) {
      return refusal(MALFORMED, "the scope's date is not X-Amz-Date's", keyId);
    }
    long validUntil = signedAt + expiresSeconds * 1000L;
    if (now > validUntil) {
      return refusal(
          EXPIRED,
          "signed at " + Instant.ofEpochMilli(signedAt) + " for " + expiresSeconds
              + " s: expired at " + Instant.ofEpochMilli(validUntil),
          keyId);
    }
    if (signedAt - now > MAX_SKEW_MS) {
      return refusal(
          CLOCK_SKEW,
          "signed at " + Instant.ofEpochMilli(signedAt) + ", more than 5 minutes ahead of "
              + Instant.ofEpochMilli(now),
          keyId);
    }
    String region = this.region;
    if (region != null && !region.equals(scope[2])) {
      return refusal(WRONG_REGION, "signed for region " + scope[2] + ", not " + region, keyId);
    }
    SigningKey key = keys.get(keyId);
    if (key == null) {
      return refusal(UNKNOWN_KEY, "no access key " + keyId + " may sign in here", keyId);
    }
    if (key.expiresMs() != null && now >= key.expiresMs()) {
      return refusal(
          EXPIRED, "the temporary credentials expired at " + Instant.ofEpochMilli(key.expiresMs()),
          keyId);
    }
    String token = query.get("X-Amz-Security-Token");
    if (key.sessionTokenSha256() != null) {
      if (token == null || token.isEmpty()) {
        return refusal(MISSING_TOKEN, "temporary credentials sign with X-Amz-Security-Token", keyId);
      }
      if (!MessageDigest.isEqual(
          key.sessionTokenSha256().getBytes(StandardCharsets.US_ASCII),
          sha256Hex(token).getBytes(StandardCharsets.US_ASCII))) {
        return refusal(WRONG_TOKEN, "the security token is not the key's", keyId);
      }
    }
    byte[] signingKey = key.keysByDate().get(scope[1]);
    if (signingKey == null) {
      return refusal(
          CLOCK_SKEW, "no signing key of " + keyId + " for the date " + scope[1] + " here", keyId);
    }
    String signedHeaders = query.get("X-Amz-SignedHeaders");
    if (!"host".equals(signedHeaders)) {
      return refusal(BAD_SIGNATURE, "signed headers " + signedHeaders + ", not host", keyId);
    }
    String canonicalQuery = canonicalQuery(query);
    String credentialScope = String.join("/", scope[1], scope[2], scope[3], scope[4]);
    for (String payloadHash : new String[] {EMPTY_SHA256, UNSIGNED_PAYLOAD}) {
      String canonical =
          String.join(
              "\n", "GET", path, canonicalQuery, "host:" + host, "", "host", payloadHash);
      String toSign =
          String.join(
              "\n", ALGORITHM, query.get("X-Amz-Date"), credentialScope, sha256Hex(canonical));
      String expected = HexFormat.of().formatHex(hmac(signingKey, toSign));
      if (MessageDigest.isEqual(
          expected.getBytes(StandardCharsets.US_ASCII),
          signature.toLowerCase().getBytes(StandardCharsets.US_ASCII))) {
        long lifetime = key.expiresMs() == null ? validUntil : Math.min(validUntil, key.expiresMs());
        return new Outcome(key.principalArn(), lifetime, null, null, keyId, newRequestId());
      }
    }
    return refusal(
        BAD_SIGNATURE, "the signature does not match access key " + keyId + "'s", keyId);
  }

  static String canonicalQuery(Map<String, String> query) {
    TreeMap<String, String> encoded = new TreeMap<>();
    query.forEach((name, value) -> encoded.put(uriEncode(name), uriEncode(value)));
    StringBuilder out = new StringBuilder();
    encoded.forEach(
        (name, value) -> {
          if (out.length() > 0) out.append('&');
          out.append(name).append('=').append(value);
        });
    return out.toString();
  }

  /** SigV4's URI encoding: every byte but the unreserved characters as %XX. */
  static String uriEncode(String text) {
    StringBuilder out = new StringBuilder();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == '~') {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  private static String decode(String text) {
    return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private static String accessKey(Map<String, String> query) {
    String credential = query.get("X-Amz-Credential");
    if (credential == null) return null;
    int slash = credential.indexOf('/');
    return slash < 0 ? credential : credential.substring(0, slash);
  }

  static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha256Hex(String data) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(data.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String newRequestId() {
    return UUID.randomUUID().toString();
  }

  private static Outcome refusal(String reason, String detail, String accessKeyId) {
    return new Outcome(null, 0L, reason, detail, accessKeyId, newRequestId());
  }

  // --- the credentials file ------------------------------------------------------------------

  private void reloadIfChanged() {
    if (credentials == null || System.nanoTime() - checkedAt < RELOAD_NANOS) return;
    synchronized (reloading) {
      if (System.nanoTime() - checkedAt < RELOAD_NANOS) return;
      checkedAt = System.nanoTime();
      long modified;
      try {
        modified = Files.getLastModifiedTime(credentials).toMillis() ^ Files.size(credentials);
      } catch (IOException e) {
        if (!keys.isEmpty()) log.warn("IAM sign-in: no credentials file {}: none may sign in", credentials);
        keys = Map.of();
        readModified = Long.MIN_VALUE;
        return;
      }
      if (modified == readModified) return;
      try {
        load(Files.readAllBytes(credentials));
        readModified = modified;
      } catch (IOException | RuntimeException e) {
        log.error("IAM sign-in: cannot read {}; keeping the keys read before: {}", credentials, e.toString());
      }
    }
  }

  void load(byte[] content) throws IOException {
    JsonNode root = JSON.readTree(content);
    Map<String, SigningKey> read = new HashMap<>();
    HexFormat hex = HexFormat.of();
    for (JsonNode key : root.path("keys")) {
      Map<String, byte[]> byDate = new HashMap<>();
      key.path("signingKeys").fields().forEachRemaining(e -> byDate.put(e.getKey(), hex.parseHex(e.getValue().asText())));
      JsonNode token = key.path("sessionTokenSha256");
      JsonNode expires = key.path("expiresMs");
      String id = key.path("accessKeyId").asText();
      read.put(
          id,
          new SigningKey(
              id,
              key.path("principalArn").asText(),
              token.isTextual() ? token.asText() : null,
              expires.isNumber() ? expires.asLong() : null,
              Map.copyOf(byDate)));
    }
    JsonNode region = root.path("region");
    this.region = region.isTextual() ? region.asText() : null;
    keys = Map.copyOf(read);
    log.info("IAM sign-in: {} access keys may sign in", read.size());
  }

  // --- refusals -------------------------------------------------------------------------------

  private void refused(String mechanism, Outcome outcome) {
    log.warn(
        "Refused IAM sign-in ({}, access key {}, request {}): {}: {}",
        mechanism, outcome.accessKeyId(), outcome.requestId(), outcome.reason(), outcome.detail());
    if (refusals == null) return;
    ObjectNode record = JSON.createObjectNode();
    record.put("time", Instant.now().toString());
    record.put("requestId", outcome.requestId());
    record.put("mechanism", mechanism);
    record.put("reason", outcome.reason());
    record.put("detail", outcome.detail());
    record.put("accessKeyId", outcome.accessKeyId());
    try {
      byte[] line = (JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
      synchronized (appending) {
        Files.write(refusals, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
    } catch (IOException e) {
      log.error("IAM sign-in: cannot record a refusal in {}: {}", refusals, e.toString());
    }
  }

  /** The token of an accepted OAUTHBEARER sign-in: its lifetime ends the session (with
   * `connections.max.reauth.ms` on the listener) when the signature expires. */
  static final class Token implements OAuthBearerToken {
    private final String value;
    private final Outcome outcome;
    private final long start = System.currentTimeMillis();

    Token(String value, Outcome outcome) {
      this.value = value;
      this.outcome = outcome;
    }

    @Override
    public String value() {
      return value;
    }

    @Override
    public Set<String> scope() {
      return Set.of();
    }

    @Override
    public long lifetimeMs() {
      return outcome.lifetimeMs();
    }

    @Override
    public String principalName() {
      return outcome.principalArn();
    }

    @Override
    public Long startTimeMs() {
      return start;
    }
  }

  // --- a command line for tests -------------------------------------------------------------

  public static void main(String[] args) throws IOException {
    IamSignInVerifier verifier = new IamSignInVerifier();
    Map<String, Object> configs = new HashMap<>();
    configs.put(CREDENTIALS_LOCATION, args[0]);
    configs.put(HOSTS, args[1]);
    verifier.configure(configs, args[2], List.of());
    long now = args.length > 4 ? Long.parseLong(args[4]) : System.currentTimeMillis();
    Outcome outcome =
        AWS_MSK_IAM.equals(args[2])
            ? verifier.verifyPayload(args[3].getBytes(StandardCharsets.UTF_8), now)
            : verifier.verifyToken(args[3], now);
    ObjectNode out = JSON.createObjectNode();
    out.put("principalArn", outcome.principalArn());
    out.put("lifetimeMs", outcome.lifetimeMs());
    out.put("reason", outcome.reason());
    out.put("detail", outcome.detail());
    System.out.println(JSON.writeValueAsString(out));
  }
}
