"""Change-request mail: the notices a transition queues, and their delivery with portal links."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from domains import notice_delivery, notices
from domains.errors import NotFound
from domains.mailer import Mailer, mailer_from_settings
from domains.models import ChangeRequest, Domain, Notice
from domains.notices import RequestLinks
from domains.request_reads import role_holder
from domains.store import Store
from domains.vocabulary import ContactRole, RequestTarget


@dataclass(frozen=True)
class Outcome:
    """A transition's result: the request, notices to deliver, and a token when one was made."""

    request: ChangeRequest
    notice_ids: list[int] = field(default_factory=list)
    token: str | None = None


class RequestMail:
    """Queues a transition's notices in its transaction and delivers them after the commit."""

    store: Store
    links: RequestLinks | None

    def mail_context(self, outcome: Outcome) -> dict[str, str]:
        """The links a transition's mail carries; the confirmation link lives in memory only."""
        if self.links is None:
            raise RuntimeError("this Workflow was made without the portal's links; pass links=")
        context = {"status_url": self.links.status(outcome.request.reference)}
        if outcome.token:
            context["confirm_url"] = self.links.confirm(outcome.token)
        return context

    def deliver(self, outcome: Outcome, mailer: Mailer | None = None) -> list[Notice]:
        """Send the notices a transition queued."""
        if not outcome.notice_ids:
            return []
        context = self.mail_context(outcome)
        assert self.links is not None  # mail_context refuses a Workflow without links
        return notice_delivery.deliver(
            self.store,
            outcome.notice_ids,
            mailer=mailer or mailer_from_settings(self.store.settings),
            links=self.links,
            context=context,
        )

    @staticmethod
    def _notice(
        session: Session,
        request: ChangeRequest,
        template: str,
        *,
        contact_id: int | None,
        recipient: str = "contact",
    ) -> int:
        notice = notices.queue(
            session,
            template=template,
            category="essential",
            subject_ref=request.reference,
            recipient=recipient,
            contact_id=contact_id,
        )
        session.flush()
        assert notice.id is not None  # the flush gave it one
        return notice.id

    def _notify_registrant(self, session: Session, request: ChangeRequest, template: str) -> int:
        """Essential notice to the registrant alone."""
        return self._notice(
            session, request, template, contact_id=self._registrant_id(session, request)
        )

    def _notify_all(self, session: Session, request: ChangeRequest, template: str) -> list[int]:
        """Essential notice to the registrant, the old and the new technical contact."""
        registrant_id = self._registrant_id(session, request)
        targets: list[tuple[str, int | None]] = [("contact", registrant_id)]
        if request.old_tech_id and request.old_tech_id != registrant_id:
            targets.append(("contact", request.old_tech_id))
        if request.new_tech_id:
            if request.new_tech_id not in (registrant_id, request.old_tech_id):
                targets.append(("contact", request.new_tech_id))
        elif request.target == RequestTarget.NEW:
            targets.append(("proposed_tech", None))
        return [
            self._notice(session, request, template, contact_id=cid, recipient=kind)
            for kind, cid in targets
        ]

    @staticmethod
    def _registrant_id(session: Session, request: ChangeRequest) -> int:
        domain = session.get(Domain, request.domain_id)
        registrant = role_holder(session, domain, ContactRole.REGISTRANT) if domain else None
        if registrant is None or registrant.id is None:
            raise NotFound("registrant of change request", request.reference)
        return registrant.id
