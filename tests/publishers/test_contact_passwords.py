"""Contact passwords (authInfo) are made with `secrets` to each registry's configured rule."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.vocabulary import PasswordClass
from publishers.passwords import DEFAULT_RULE, PasswordRule, PasswordRuleError
from publishers.registries import RegistryConfigError, load_registries
from publishers.sync.contacts import new_auth_info
from tests.support.sandbox import assert_frames_valid
from tests.support.sync import (
    move_tech,
    new_tech,
    registries,
    seed,
    statuses,
    sync_once,
    write_registries,
)

pytestmark = pytest.mark.usefixtures("sandbox_password")

KINDS = {
    PasswordClass.LETTER: set(string.ascii_letters),
    PasswordClass.LOWER: set(string.ascii_lowercase),
    PasswordClass.UPPER: set(string.ascii_uppercase),
    PasswordClass.DIGIT: set(string.digits),
}


def meets(rule: PasswordRule, password: str) -> bool:
    """The rule, checked here on its own terms (not by the rule's own `problems`)."""
    symbols = set(rule.symbols)
    kinds = {**KINDS, PasswordClass.SYMBOL: symbols}
    allowed = set(string.ascii_letters) | set(string.digits) | symbols
    return (
        rule.min_length <= len(password) <= rule.max_length
        and set(password) <= allowed
        and all(set(password) & kinds[kind] for kind in rule.required)
    )


@st.composite
def rules(draw: st.DrawFn) -> PasswordRule:
    low = draw(st.integers(min_value=6, max_value=64))
    high = draw(st.integers(min_value=low, max_value=64))
    required = draw(st.lists(st.sampled_from(list(PasswordClass)), unique=True))
    symbols = draw(st.text(st.sampled_from(string.punctuation), max_size=10))
    if PasswordClass.SYMBOL in required and not symbols:
        symbols = draw(st.text(st.sampled_from(string.punctuation), min_size=1, max_size=10))
    return PasswordRule(min_length=low, max_length=high, required=tuple(required), symbols=symbols)


@settings(max_examples=300, deadline=None)
@given(rule=rules())
def test_every_generated_password_meets_its_rule(rule: PasswordRule) -> None:
    password = rule.generate()
    assert meets(rule, password), (rule, password)
    assert rule.problems(password) == []


def test_the_default_rule_is_the_common_one() -> None:
    for _ in range(500):
        password = new_auth_info()
        assert 8 <= len(password) <= 16
        assert any(c in string.ascii_letters for c in password)
        assert any(c in string.digits for c in password)
        assert any(c in DEFAULT_RULE.symbols for c in password)
        assert set(password) <= set(string.ascii_letters + string.digits + DEFAULT_RULE.symbols)


def test_generated_passwords_differ() -> None:
    assert len({DEFAULT_RULE.generate() for _ in range(200)}) == 200


def test_a_rule_says_what_a_password_lacks_without_quoting_it() -> None:
    rule = PasswordRule(min_length=10, max_length=12, required=("upper", "digit", "symbol"))
    problems = rule.problems("lowercase only")
    assert problems == [
        "must be 10 to 12 characters long",
        f"may hold only letters, digits and the symbols {rule.symbols}",
        "needs at least one upper character",
        "needs at least one digit character",
        "needs at least one symbol character",
    ]
    assert not any("lowercase only" in problem for problem in problems)


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"min_length": 5}, "min_length", "must be between 6 and 64, not 5"),
        ({"min_length": 12, "max_length": 10}, "max_length", "between min_length (12) and 64"),
        ({"max_length": 65}, "max_length", "not 65"),
        ({"required": ("letter", "emoji")}, "require", "'emoji' is not a kind of character"),
        ({"symbols": "!a"}, "symbols", "'a' is not an ASCII symbol"),
        ({"symbols": "! "}, "symbols", "' ' is not an ASCII symbol"),
        ({"symbols": "!é"}, "symbols", "'é' is not an ASCII symbol"),
        ({"symbols": ""}, "symbols", "a rule that requires a symbol must list some"),
    ],
)
def test_an_impossible_rule_is_refused(values, key: str, message: str) -> None:
    with pytest.raises(PasswordRuleError) as caught:
        PasswordRule(**values)
    assert caught.value.key == key and message in caught.value.message


GOOD = "[registries.x]\nhost = 'h'\nclient_id = 'c'\npassword_env = 'P'\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            GOOD + "[registries.x.contact_passwords]\nmin_length = 4\n",
            ":6: registries.x.contact_passwords.min_length: must be between 6 and 64, not 4",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nmin_length = 10\n\nmax_length = 9\n",
            ":8: registries.x.contact_passwords.max_length: must be between min_length (10)",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nrequire = ['letter', 'kanji']\n",
            ":6: registries.x.contact_passwords.require: 'kanji' is not a kind of character; "
            "kinds are letter, lower, upper, digit, symbol",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nsymbols = ''\n",
            ":6: registries.x.contact_passwords.symbols: a rule that requires a symbol must list",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nsymbols = '#a'\n",
            ":6: registries.x.contact_passwords.symbols: 'a' is not an ASCII symbol",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nmin_length = '8'\n",
            ":6: registries.x.contact_passwords.min_length: must be an integer, not '8'",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nrequire = 'digit'\n",
            ":6: registries.x.contact_passwords.require: must be a list of kinds of character",
        ),
        (
            GOOD + "[registries.x.contact_passwords]\nlength = 8\n",
            ":6: registries.x.contact_passwords.length: unknown key; known keys: max_length, "
            "min_length, require, symbols",
        ),
        (
            GOOD + "contact_passwords = { max_length = 70 }\n",
            ":5: registries.x.contact_passwords.max_length: must be between min_length (8)",
        ),
    ],
)
def test_a_bad_rule_in_the_registries_file_is_refused_with_its_line(
    tmp_path, text: str, where: str
) -> None:
    path = tmp_path / "registries.toml"
    path.write_text(text)
    with pytest.raises(RegistryConfigError) as caught:
        load_registries(path, data_dir=tmp_path)
    assert str(caught.value).startswith(f"{path.resolve()}{where}"), str(caught.value)


def test_a_registry_without_a_rule_has_the_common_one(tmp_path) -> None:
    path = tmp_path / "registries.toml"
    path.write_text(GOOD + "tlds = ['com']\n")
    assert load_registries(path, data_dir=tmp_path).registry_for("com").contact_passwords == (
        DEFAULT_RULE
    )


async def test_the_sync_creates_contacts_with_passwords_to_the_registry_rule(
    store, recording_sandbox, tmp_path
) -> None:
    sandbox = recording_sandbox
    rule_lines = (
        "min_length = 10\nmax_length = 12\n"
        "require = ['lower', 'upper', 'digit', 'symbol']\nsymbols = '#%'"
    )
    path = write_registries(tmp_path / "r.toml", sandbox, contact_passwords=rule_lines)
    regs = registries(path, tmp_path)
    rule = regs.registry_for("com").contact_passwords
    assert rule == PasswordRule(
        min_length=10, max_length=12, required=("lower", "upper", "digit", "symbol"), symbols="#%"
    )
    seeded = seed(store, sandbox, 4)
    for i, name in enumerate(seeded.names):
        move_tech(store, name, new_tech(40 + i))
    await sync_once(store, regs)
    assert statuses(store) == {"done": 4}
    creates = sandbox.commands("create", "contact")
    assert len(creates) == 4
    passwords = [command.payload.contact.auth_info for command in creates]
    assert all(meets(rule, password) for password in passwords), passwords
    assert all(len(p) == 12 for p in passwords)
    snapshot = sandbox.snapshot()
    for name in seeded.names:
        tech = store.domain_record(name).contact("tech")
        assert meets(rule, snapshot.contacts[tech.handle].auth_info)
    assert_frames_valid(sandbox.received)
