"""GetRandomPassword: a password from the system's secure random source, of the character types
Secrets Manager uses (lowercase and uppercase letters, digits, and the punctuation
!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~), the space only when asked for.

Its rules: 1 to 4096 characters (32 by default); ExcludeCharacters removes characters from every
type; with RequireEachIncludedType (the default) the password has at least one character of each
type left to it (the space is never required), so it must be at least as long as there are
such types; a request that leaves no character at all is refused.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from steward.secrets.errors import InvalidParameterException

DEFAULT_LENGTH = 32
MIN_LENGTH = 1
MAX_LENGTH = 4096
MAX_EXCLUDED_CHARACTERS = 4096


@dataclass(frozen=True)
class PasswordRules:
    length: int = DEFAULT_LENGTH
    exclude_characters: str = ""
    exclude_numbers: bool = False
    exclude_punctuation: bool = False
    exclude_uppercase: bool = False
    exclude_lowercase: bool = False
    include_space: bool = False
    require_each_included_type: bool = True


def random_password(rules: PasswordRules) -> str:
    if not MIN_LENGTH <= rules.length <= MAX_LENGTH:
        raise InvalidParameterException(
            f"PasswordLength must be between {MIN_LENGTH} and {MAX_LENGTH}."
        )
    if len(rules.exclude_characters) > MAX_EXCLUDED_CHARACTERS:
        raise InvalidParameterException(
            f"ExcludeCharacters is at most {MAX_EXCLUDED_CHARACTERS} characters long."
        )
    excluded = set(rules.exclude_characters)
    wanted = [
        (rules.exclude_lowercase, string.ascii_lowercase),
        (rules.exclude_uppercase, string.ascii_uppercase),
        (rules.exclude_numbers, string.digits),
        (rules.exclude_punctuation, string.punctuation),
    ]
    types = [
        kept
        for exclude, characters in wanted
        if not exclude and (kept := "".join(c for c in characters if c not in excluded))
    ]
    alphabet = "".join(types) + (" " if rules.include_space and " " not in excluded else "")
    if not alphabet:
        raise InvalidParameterException(
            "The password can have no character: every character type is excluded."
        )
    required = types if rules.require_each_included_type else []
    if rules.length < len(required):
        raise InvalidParameterException(
            f"A password with each of its {len(required)} character types needs a PasswordLength "
            f"of at least {len(required)}."
        )
    chosen = [secrets.choice(characters) for characters in required]
    chosen += [secrets.choice(alphabet) for _ in range(rules.length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
