"""Contact edit: every field validated as you leave it, consent per field, stale edits caught.

Only the fields you changed are sent, on top of the version you loaded; if someone else saved
in between, the store refuses (a conflict), the screen shows their newer values beside yours,
and a second save applies your changes on top of theirs. Nothing you typed is lost. The ASCII
form registries get of non-ASCII postal data is a collapsed section; what it leaves empty is
transliterated when the contact is sent.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Collapsible, Footer, Header, Input, Select, Static

from domains import ascii_postal, contact_fields, validation
from domains.errors import ConflictError, ValidationFailed
from domains.models import Contact
from domains.store import CONTACT_EDIT_FIELDS
from domains.vocabulary import AccessPurpose, ConsentMethod, ContactKind
from tui.screens.base import StaffScreen
from tui.widgets import form

#: An input per contact field, one per line of the street ("street1": "Street 1").
TEXT_FIELDS = tuple(
    (row.name, row.label) if row.lines == 1 else (f"{row.name}{i}", f"{row.label} {i}")
    for row in contact_fields.CONTACT_FIELDS
    for i in range(1, row.lines + 1)
)
#: An input per item of the stored ASCII form ("ascii_city": "City"), in its collapsed section.
ASCII_FIELDS = tuple(
    (f"ascii_{name}", label)
    for key in ascii_postal.KEYS
    for name, label in TEXT_FIELDS
    if name == key or (key == "street" and name.startswith("street"))
)
ASCII_KEYS = tuple(name for name, _ in ASCII_FIELDS)
METHODS = [(m, m) for m in ConsentMethod]
#: The fields of the form, top to bottom: errors are shown (and the focus goes) in this order.
FORM_ORDER = ("kind", *(name for name, _ in TEXT_FIELDS), *ASCII_KEYS)
LABELS = dict(TEXT_FIELDS, kind="Kind") | {n: f"ASCII {label}" for n, label in ASCII_FIELDS}


def form_values(contact: Contact) -> dict[str, Any]:
    """A contact as the form's field values."""
    street = [*contact.street, "", "", ""]
    values = {name: getattr(contact, name, None) or "" for name, _ in TEXT_FIELDS}
    values.update(street1=street[0], street2=street[1], street3=street[2])
    values["kind"] = contact.kind
    values["consent_fields"] = list(contact.consent_fields)
    values["consent_method"] = contact.consent_method or ConsentMethod.STAFF
    stored = contact.ascii_postal or {}
    for name in ASCII_KEYS:
        key = name.removeprefix("ascii_")
        if key.startswith("street"):
            lines = [*stored.get("street", ()), "", "", ""]
            values[name] = lines[int(key[-1]) - 1]
        else:
            values[name] = stored.get(key) or ""
    return values


def _form_field(error_field: str) -> str:
    """The form input of a store error's field: street[2] -> street2, ascii.city -> ascii_city."""
    field = error_field.replace("ascii.", "ascii_", 1)
    if "street[" in field:
        field = field.replace("[", "").rstrip("]")
    return field


def to_changes(values: dict[str, Any]) -> dict[str, Any]:
    """Form values as store fields."""
    data = {k: v for k, v in values.items() if not k.startswith("street") and k not in ASCII_KEYS}
    data["street"] = [values[f"street{i}"] for i in (1, 2, 3) if values.get(f"street{i}")]
    given = {key: values.get(f"ascii_{key}") for key in ascii_postal.KEYS if key != "street"} | {
        "street": [values[f"ascii_street{i}"] for i in (1, 2, 3) if values.get(f"ascii_street{i}")]
    }
    data["ascii_postal"] = {key: value for key, value in given.items() if value} or None
    for key, value in list(data.items()):
        if value == "":
            data[key] = None
    if not data.get("consent_fields"):
        data["consent_fields"] = []
        data["consent_method"] = None
    return data


class ContactEditScreen(StaffScreen):
    """Edit one contact."""

    PALETTE_GROUP = "Contact"
    DEFAULT_CSS = """
    ContactEditScreen #contact-form {
        padding: 0 1;
    }
    ContactEditScreen #ascii-form {
        padding: 0;
        margin: 1 0 0 0;
    }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+t", "toggle_ascii", "ASCII form"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, handle: str) -> None:
        super().__init__()
        self.handle = handle
        self.base: dict[str, Any] = {}
        self.version: int | None = None
        self.touched: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield form.FormSummary(id="e-form")
        with VerticalScroll(id="contact-form"):
            conflict = Static("", id="conflict", classes="conflict")
            conflict.display = False
            yield conflict
            yield form.FieldRow(
                "Kind",
                Select(
                    [(kind, kind) for kind in ContactKind],
                    id="f-kind",
                    allow_blank=False,
                    compact=True,
                ),
                form.FieldError(id="e-kind"),
            )
            yield from form.text_rows(TEXT_FIELDS)
            consentable = contact_fields.CONSENTABLE
            yield form.choices_row("Publish (consent)", consentable, id="consents")
            yield form.FieldRow(
                "Consent given by",
                Select(
                    METHODS,
                    id="f-consent_method",
                    allow_blank=False,
                    value=ConsentMethod.STAFF,
                    compact=True,
                ),
            )
            with Collapsible(title="ASCII form for registries", id="ascii-form"):
                yield Static(
                    "Sent beside non-ASCII postal data; an item left empty is transliterated.",
                    classes="hint",
                )
                yield from form.text_rows(ASCII_FIELDS)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"Contact {self.handle}"
        self.background(self.look, self.load)

    def look(self) -> Contact:
        """The stored contact, private fields and all: a recorded look (worker thread)."""
        return self.store.look_at_contact(self.actor, self.handle, AccessPurpose.CONTACT_EDIT)

    def load(self, contact: Contact) -> None:
        """Fill the form from the stored contact."""
        self.base = form_values(contact)
        self.version = contact.version
        self.sub_title = f"version {contact.version}"
        self.set_values(self.base)

    def set_values(self, values: dict[str, Any]) -> None:
        """Put values in the widgets."""
        self.query_one("#f-kind", Select).value = values["kind"]
        for name, _ in TEXT_FIELDS:
            self.query_one(f"#f-{name}", Input).value = str(values.get(name) or "")
        for name in contact_fields.CONSENTABLE:
            self.query_one(f"#c-{name}", Checkbox).value = name in values["consent_fields"]
        self.query_one("#f-consent_method", Select).value = values["consent_method"]
        for name in ASCII_KEYS:
            self.query_one(f"#f-{name}", Input).value = str(values.get(name) or "")
        if any(values.get(name) for name in ASCII_KEYS):
            self.query_one("#ascii-form", Collapsible).collapsed = False

    def action_toggle_ascii(self) -> None:
        """Open or close the ASCII form's section."""
        section = self.query_one("#ascii-form", Collapsible)
        section.collapsed = not section.collapsed

    def values(self) -> dict[str, Any]:
        """What the form holds now."""
        values: dict[str, Any] = {
            name: self.query_one(f"#f-{name}", Input).value.strip()
            for name, _ in (*TEXT_FIELDS, *ASCII_FIELDS)
        }
        values["kind"] = self.query_one("#f-kind", Select).value
        values["consent_fields"] = [
            n for n in contact_fields.CONSENTABLE if self.query_one(f"#c-{n}", Checkbox).value
        ]
        values["consent_method"] = self.query_one("#f-consent_method", Select).value
        return values

    def changed(self) -> dict[str, Any]:
        """The store fields the user changed, compared with the version they edit."""
        now, base = to_changes(self.values()), to_changes(self.base)
        changes = {k: v for k, v in now.items() if base.get(k) != v and k in CONTACT_EDIT_FIELDS}
        if "consent_fields" in changes:
            changes["consent_method"] = now["consent_method"]
            changes["consent_at"] = None
        return changes

    # -- validation as you leave a field -------------------------------------------------

    @on(Input.Blurred)
    def field_left(self, event: Input.Blurred) -> None:
        """Check the whole form and show the errors of the fields already visited."""
        if event.input.id and event.input.id.startswith("f-"):
            self.touched.add(event.input.id[2:])
        self.check(only_touched=True)

    def check(self, *, only_touched: bool) -> dict[str, str]:
        """Validate with the store's rules; show each error under its field; the errors shown."""
        errors: dict[str, str] = {}
        try:
            validation.contact(to_changes(self.values()))
        except ValidationFailed as exc:
            for error in exc.errors:
                errors.setdefault(_form_field(error.field), error.message)
        shown = {
            name: errors[name]
            for name in FORM_ORDER
            if name in errors and (not only_touched or name in self.touched)
        }
        form.show_field_errors(self, FORM_ORDER, shown)
        leftovers = [f"{k}: {v}" for k, v in errors.items() if k not in FORM_ORDER]
        # Said above the form after a save that failed, and kept up to date as fields are put right.
        if not only_touched or self.query_one("#e-form").display:
            form.show_summary(self, "Not saved", shown, LABELS, leftovers)
        return {**shown, **{k: v for k, v in errors.items() if k not in FORM_ORDER}}

    # -- saving ---------------------------------------------------------------------------

    def action_save(self) -> None:
        """Save the changed fields against the version that was loaded."""
        self.touched.update(n for n, _ in (*TEXT_FIELDS, *ASCII_FIELDS))
        errors = self.check(only_touched=False)
        if any(name in errors for name in ASCII_KEYS):
            self.query_one("#ascii-form", Collapsible).collapsed = False
        if errors:
            # The summary above the form says what to fix; the first field in error has the focus.
            form.focus_first_error(self, (n for n in FORM_ORDER if n in errors))
            return
        changes = self.changed()
        if not changes:
            self.notify("nothing changed")
            return
        version = self.version
        if version is None:  # the contact has not been read yet: nothing to save against
            self.notify("the contact is still loading; save again in a moment")
            return
        self.background(
            lambda: self.store.update_contact(self.actor, self.handle, version, changes),
            self.saved,
            failed=self.save_failed,
        )

    def saved(self, contact: Contact) -> None:
        """Saved: the form now edits the new version. The ASCII form's inputs show what is
        stored: an address change without one dropped the items it made stale."""
        self.base = form_values(contact)
        for name in ASCII_KEYS:
            self.query_one(f"#f-{name}", Input).value = str(self.base.get(name) or "")
        self.version = contact.version
        self.sub_title = f"version {contact.version}"
        self.show_conflict_text("")
        form.show_summary(self, "Not saved", {}, LABELS)
        self.notify(f"{contact.handle} saved (version {contact.version})")

    def save_failed(self, exc: Exception) -> None:
        """A conflict shows the newer values; a validation error shows beside the fields."""
        if isinstance(exc, ConflictError):
            self.background(
                self.look,
                lambda newer: self.show_conflict(exc, newer),
            )
        elif isinstance(exc, ValidationFailed):
            errors = self.check(only_touched=False)
            if errors:
                form.focus_first_error(self, (n for n in FORM_ORDER if n in errors))
            else:  # refused by a rule the form does not know: the store's words, above the form
                form.show_summary(self, "Not saved", {}, LABELS, [str(e) for e in exc.errors])
        else:
            self.show_error(exc)

    def show_conflict(self, exc: ConflictError, newer: Contact) -> None:
        """Show what the other person changed; keep what this user typed."""
        theirs = form_values(newer)
        lines = [
            f"[b]Conflict:[/] {escape(str(exc))}",
            "They changed (newer value / the value you started from):",
        ]
        for key in sorted(set(theirs) | set(self.base)):
            if theirs.get(key) != self.base.get(key):
                newer_value, old_value = escape(str(theirs[key])), escape(str(self.base.get(key)))
                lines.append(f"  {key}: {newer_value} / was {old_value}")
        lines.append("Your edits are still in the form. Ctrl+S applies them on top of theirs.")
        self.show_conflict_text("\n".join(lines))
        # Rebase: the form shows their values except where this user typed something else,
        # and the next save sends only this user's changes, against the newer version.
        mine = self._form_keys(self.changed())
        current = self.values()
        self.base = theirs
        self.version = newer.version
        self.sub_title = f"version {newer.version} (newer)"
        self.set_values({**theirs, **{k: v for k, v in current.items() if k in mine}})

    def show_conflict_text(self, markup: str) -> None:
        """The conflict notice above the fields; none hides it."""
        conflict = self.query_one("#conflict", Static)
        conflict.update(markup)
        conflict.display = bool(markup)

    @staticmethod
    def _form_keys(changes: dict[str, Any]) -> set[str]:
        """The form widgets that hold the changed store fields."""
        keys = set(changes)
        if "street" in keys:
            keys |= {"street1", "street2", "street3"}
        if "consent_fields" in keys:
            keys.add("consent_method")
        if "ascii_postal" in keys:
            keys.update(ASCII_KEYS)
        return keys
