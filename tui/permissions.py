"""What each staff action needs: the one table the footer, the palette and the keys read."""

from __future__ import annotations

from domains.staff import Permission, StaffView

#: The permission behind each screen action that changes something for a customer. An action not
#: named here needs only what its screen needs (every section shows customer data: VIEW).
ACTION_NEEDS: dict[str, Permission] = {
    "approve": Permission.DECIDE_REQUEST,
    "reject": Permission.DECIDE_REQUEST,
    "apply": Permission.DECIDE_REQUEST,
    "retry": Permission.RETRY_SYNC,
    "edit_contact": Permission.EDIT_CONTACT,
    "save": Permission.EDIT_CONTACT,
    "change_tech": Permission.ENTER_REQUEST,
    "lock": Permission.EDIT_DOMAIN,
    "edit_ns": Permission.EDIT_DOMAIN,
    "edit_ds": Permission.EDIT_DOMAIN,
    "change_registrant": Permission.CHANGE_REGISTRANT,
    "new_request": Permission.ENTER_REQUEST,
    "cancel_request": Permission.ENTER_REQUEST,
    "resend": Permission.ENTER_REQUEST,
    "marketing_choice": Permission.RECORD_MARKETING_CHOICE,
    "new_disclosure": Permission.ENTER_DISCLOSURE,
    "decide_disclosure": Permission.DECIDE_DISCLOSURE,
    "acknowledge_disclosure": Permission.ENTER_DISCLOSURE,
    "save_attachment": Permission.ENTER_DISCLOSURE,
    "close_disclosure": Permission.DECIDE_DISCLOSURE,
    "new_download_link": Permission.DECIDE_DISCLOSURE,
}


def allowed(staff: StaffView, action: str) -> bool:
    """Whether `staff` may run the screen action named `action` (in a section they may see)."""
    return staff.may(Permission.VIEW) and staff.may(ACTION_NEEDS.get(action, Permission.VIEW))


def roles_text(staff: StaffView) -> str:
    """The member's roles as words: "supervisor, privacy"."""
    return ", ".join(staff.roles) or "no role"
