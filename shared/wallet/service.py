"""Redemptions, the use cases (plain callables: the functions and the people-facing API call the same code).

- `request(RedeemRequest, now)`: refuse with a reason naming the field (nothing written), else reserve exactly once
  (shared/wallet/store.py) and send the fulfilment message AFTER the commit (RedemptionsQueue). A lost message is not
  lost work: the scheduled sweep (`sweep`) re-sends every reserved redemption still OPEN after SWEEP_AFTER, and the
  fulfilment is idempotent (a finished redemption is skipped; providers are idempotent on the redemption id).
- `fulfil(redemption_id, now, receive_count)`: the SQS worker. reserved -> completed (the fulfilment stored, the person
  told with the code), or a final provider failure -> failed and refunded (REFUND entry, stock, limit and budget back)
  with the person told why. A retryable failure raises (the message comes back) until MAX_PROVIDER_ATTEMPTS deliveries,
  then refunds. Manual items are left for an admin.
- `decide(...)`: an admin fulfils (with a reference/code) or fails (with a reason) a manual or stuck redemption.
- `release_queue(program_id, now)`: queued redemptions into their location's budget, oldest first, while it allows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.ledger.approvals import Actor
from shared.observability import logger
from shared.programs.loader import ProgramBook, ProgramVersion
from shared.wallet import texts
from shared.wallet.catalogue_loader import CatalogueBook
from shared.wallet.metrics import publish_completion
from shared.wallet.providers import MANUAL, ProviderFailed
from shared.wallet.providers import provider as provider_named
from shared.wallet.providers.base import Fulfilment
from shared.wallet.redeem import (
    Person,
    RedeemRequest,
    Redemption,
    RedemptionStatus,
    Refused,
    check,
    debit_entry,
    month_of,
    new_redemption,
    refund_entry,
)
from shared.wallet.store import Limits, RewardsStore

MAX_PROVIDER_ATTEMPTS = 3  # deliveries of a retryable failure before the points are refunded (< the queue's maxReceiveCount)
SWEEP_AFTER = timedelta(minutes=15)


class RedemptionsQueue:
    """The fulfilment messages (`{"redemption_id": ...}`); a send that fails is logged, the sweep re-sends it."""

    def __init__(self, url: str | None = None, sqs: Any = None) -> None:
        from shared.config import get_settings

        self.url = url if url is not None else get_settings().REDEMPTIONS_QUEUE_URL
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            import boto3

            from shared.config import get_settings

            settings = get_settings()
            self._sqs = boto3.client('sqs', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
        return self._sqs

    def send(self, rid: str) -> bool:
        if not self.url:
            return False
        try:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps({'redemption_id': rid}))
            return True
        except Exception as exc:  # the sweep picks it up
            logger.warning('fulfilment message not sent; the sweep will', extra={'redemption_id': rid, 'error': type(exc).__name__})
            return False


@dataclass
class Redemptions:
    store: RewardsStore
    ledger: Any  # LedgerStore (balances)
    directory: Any  # DirectoryStore (profile_of)
    catalogues: Callable[[], CatalogueBook]
    programs: Callable[[], ProgramBook]
    alerts: Any = None  # AlertStore: the person's notices
    queue: RedemptionsQueue | None = None
    on_complete: Callable[[Redemption, datetime], None] = field(default=publish_completion)

    @classmethod
    def from_settings(cls) -> Redemptions:
        from shared.alerts.store import AlertStore
        from shared.directory.store import DirectoryStore
        from shared.ledger.store import LedgerStore
        from shared.programs.loader import load_programs
        from shared.wallet.catalogue_loader import load_catalogues

        return cls(store=RewardsStore(), ledger=LedgerStore(), directory=DirectoryStore(), catalogues=load_catalogues,
                   programs=load_programs, alerts=AlertStore(), queue=RedemptionsQueue())  # fmt: skip

    # --- people ---------------------------------------------------------------------------------------------------
    def person(self, employee_id: str) -> Person | None:
        record = self.directory.profile_of(employee_id)
        if record is None:
            return None
        return Person(employee_id=employee_id, active=bool(record.active), location_id=record.location_id,
                      language=record.language or 'en', name=record.name)  # fmt: skip

    def _program(self, program_id: str) -> ProgramVersion:
        program = self.programs().latest(program_id)
        if program is None:
            raise Refused('unknown_program', 'program_id', f'no program {program_id}')
        return program

    # --- request -------------------------------------------------------------------------------------------------
    def request(self, request: RedeemRequest, now: datetime) -> dict[str, Any]:
        """Reserve a redemption exactly once (a duplicate returns the first one's outcome); Refused names the field."""
        program = self._program(request.program_id)
        seen = self.store.snapshot(_rid(request), request.program_id, request.item_id, request.employee_id,
                                   self.directory.profile.Meta.table_name)  # fmt: skip
        if seen.existing is not None:
            return self._outcome(seen.existing, duplicate=True)
        catalogue = self.catalogues().get(request.program_id)
        person = person_of(request.employee_id, seen.profile)
        available, head = seen.available, seen.head
        item = check(request, catalogue=catalogue, person=person, available=available, now=now, debt=seen.debt)
        assert catalogue is not None and person is not None
        if item.stock is not None and seen.issued + request.quantity > item.stock:  # the transaction's condition decides; this saves it
            raise Refused('out_of_stock', 'item_id', f'{item.name} is out of stock')
        document = program.document
        redemption = new_redemption(request, item, catalogue_version=catalogue.version, program_ref=program.ref, person=person,
                                    time_zone=document.time_zone, now=now)  # fmt: skip
        wallet = document.wallet
        budget = wallet.budget_for(redemption.location_id) if wallet is not None else None
        limits = Limits(stock=item.stock, per_person=item.per_person_limit, budget=budget)
        reserved = self.store.reserve(redemption, debit_entry(redemption), limits, now, head)
        stored = reserved.redemption
        if reserved.duplicate:
            return self._outcome(stored, duplicate=True)
        position = self.store.queue_position(stored) if stored.status is RedemptionStatus.QUEUED else None
        if stored.status is RedemptionStatus.QUEUED:
            assert position is not None
            self._notice(stored, 'queued', texts.queued_line(stored.language, stored.points, position), now)
        elif stored.provider != MANUAL and self.queue is not None:
            self.queue.send(stored.redemption_id)
        else:
            self._notice(stored, 'reserved', texts.reserved_line(stored.language, stored.points), now)
        logger.info('redemption reserved', extra={'redemption_id': stored.redemption_id, 'status': stored.status.value,
                                                  'item_id': stored.item_id, 'points': stored.points})  # fmt: skip
        return self._outcome(stored, duplicate=False, position=position)

    def _outcome(self, redemption: Redemption, *, duplicate: bool, position: int | None = None) -> dict[str, Any]:
        if position is None and redemption.status is RedemptionStatus.QUEUED:
            position = self.store.queue_position(redemption)
        out: dict[str, Any] = {'ok': True, 'redemption_id': redemption.redemption_id, 'status': redemption.status.value,
                               'item_id': redemption.item_id, 'quantity': redemption.quantity, 'points': redemption.points,
                               'entry_id': redemption.entry_id, 'duplicate': duplicate}  # fmt: skip
        if position is not None:
            out['position'] = position
        if redemption.fulfilment is not None:
            out['fulfilment'] = redemption.fulfilment.model_dump(mode='json', exclude_none=True)
        if redemption.failure:
            out['failure'] = redemption.failure
        return out

    def status(self, rid: str) -> dict[str, Any]:
        redemption = self.store.get(rid)
        if redemption is None:
            raise Refused('unknown', 'redemption_id', f'no redemption {rid}')
        return self._outcome(redemption, duplicate=False)

    # --- fulfilment ----------------------------------------------------------------------------------------------
    def fulfil(self, rid: str, now: datetime, *, receive_count: int = 1) -> str:
        """The worker's step for one message: 'completed', 'failed', 'skipped' (finished, queued or manual); raises
        ProviderFailed for a retryable failure while attempts remain (the message comes back)."""
        redemption = self.store.get(rid)
        if redemption is None or redemption.status is not RedemptionStatus.RESERVED or redemption.provider == MANUAL:
            return 'skipped'
        try:
            fulfilment = provider_named(redemption.provider).fulfil(redemption)
        except ProviderFailed as failed:
            if failed.retryable and receive_count < MAX_PROVIDER_ATTEMPTS:
                self.store.count_attempt(redemption)
                raise
            logger.warning('provider failed; refunding', extra={'redemption_id': rid, 'provider': redemption.provider,
                                                               'retryable': failed.retryable})  # fmt: skip
            return 'failed' if self._refund(redemption, failed.reason, now, by=f'provider:{redemption.provider}') else 'skipped'
        return 'completed' if self._complete(redemption, fulfilment, now, by=f'provider:{redemption.provider}') else 'skipped'

    def _complete(self, redemption: Redemption, fulfilment: Fulfilment, now: datetime, *, by: str) -> bool:
        done = redemption.model_copy(update={'status': RedemptionStatus.COMPLETED, 'fulfilment': fulfilment, 'finished_at': now,
                                             'decided_by': by})  # fmt: skip
        line = texts.completed_line(done.language, done.points, fulfilment.code, fulfilment.expires, fulfilment.reference)
        if not self.store.complete(redemption, done, self._notice_action(done, 'completed', line, now)):
            return False
        self.on_complete(done, now)
        return True

    def _refund(self, redemption: Redemption, reason: str, now: datetime, *, by: str) -> bool:
        failed = redemption.model_copy(update={'status': RedemptionStatus.FAILED, 'failure': reason[:300], 'finished_at': now,
                                               'decided_by': by})  # fmt: skip
        line = texts.failed_line(failed.language, failed.points, reason)
        notice = self._notice_action(failed, 'failed', line, now)
        return self.store.refund(redemption, failed, refund_entry(redemption, reason, now), notice)

    # --- admin ---------------------------------------------------------------------------------------------------
    def decide(self, rid: str, *, fulfil: bool, actor: Actor, now: datetime, reason: str | None = None, reference: str | None = None,
               code: str | None = None) -> dict[str, Any]:  # fmt: skip
        """An admin fulfils a reserved redemption (manual items: extra leave) or fails a reserved or queued one (refund)."""
        redemption = self.store.get(rid)
        if redemption is None:
            raise Refused('unknown', 'redemption_id', f'no redemption {rid}')
        if redemption.status in (RedemptionStatus.COMPLETED, RedemptionStatus.FAILED):
            raise Refused('decided', 'redemption_id', f'redemption {rid} is already {redemption.status.value}')
        if fulfil:
            if redemption.status is not RedemptionStatus.RESERVED:
                raise Refused('queued', 'redemption_id', f'redemption {rid} is waiting for budget; it can only be failed')
            fulfilment = Fulfilment(reference=reference or f'manual:{actor.reference}', code=code, note=reason)
            written = self._complete(redemption, fulfilment, now, by=actor.label)
        else:
            if not reason or len(reason.strip()) < 5:
                raise Refused('reason', 'reason', 'failing a redemption needs a reason (at least 5 characters)')
            written = self._refund(redemption, reason.strip(), now, by=actor.label)
        if not written:
            raise Refused('decided', 'redemption_id', f'redemption {rid} was decided meanwhile')
        return self.status(rid)

    # --- the budget queue and the sweep --------------------------------------------------------------------------
    def release_queue(self, program_id: str, locations: list[str], now: datetime) -> dict[str, int]:
        """Per location, queued redemptions into this month's budget in request order; stops at the first that does not
        fit (never skips ahead, never overspends: each release is conditioned on the budget's room)."""
        program = self._program(program_id)
        wallet = program.document.wallet
        month = month_of(now, program.document.time_zone)
        released = waiting = 0
        for location in sorted(set(locations)):
            budget = wallet.budget_for(location) if wallet is not None else None
            for rid in self.store.queued(program_id, location):
                redemption = self.store.get(rid)
                if redemption is None or redemption.status is not RedemptionStatus.QUEUED:
                    continue
                moved = self.store.release(redemption, budget, month)
                if moved is None:
                    waiting += 1
                    break
                if moved.status is RedemptionStatus.QUEUED:  # it left the queue meanwhile
                    continue
                released += 1
                if moved.provider != MANUAL and self.queue is not None:
                    self.queue.send(moved.redemption_id)
                else:
                    self._notice(moved, 'released', texts.released_line(moved.language), now)
        return {'released': released, 'locations_waiting': waiting}

    def sweep(self, program_id: str, now: datetime) -> int:
        """Re-send the fulfilment message of every provider redemption still reserved SWEEP_AFTER after its request."""
        sent = 0
        for rid, provider in self.store.open_ids(program_id, older_than=now - SWEEP_AFTER):
            if provider != MANUAL and self.queue is not None and self.queue.send(rid):
                sent += 1
        return sent

    # --- notices -------------------------------------------------------------------------------------------------
    def _alert(self, redemption: Redemption, step: str, line: str, now: datetime) -> PendingAlert:
        key = f'redemption#{redemption.redemption_id}|{step}'
        return PendingAlert(alert_id=alert_id(key, Recipient.ASSIGNEE), ticket_key=f'redemption#{redemption.redemption_id}',
                            ref=redemption.item_name, kind=AlertKind.REDEMPTION_UPDATE, metric='redemption', threshold=line[:300],
                            role=Recipient.ASSIGNEE, subject=redemption.employee_id, due_at=now)  # fmt: skip

    def _notice_action(self, redemption: Redemption, step: str, line: str, now: datetime) -> dict[str, Any] | None:
        return None if self.alerts is None else self.alerts.new_alert_action(self._alert(redemption, step, line, now), now)

    def _notice(self, redemption: Redemption, step: str, line: str, now: datetime) -> None:
        if self.alerts is not None:
            self.alerts.upsert(self._alert(redemption, step, line, now), now, only_new=True)


def person_of(employee_id: str, item: dict[str, Any] | None) -> Person | None:
    """A Person from the directory's raw profile item (None: no profile)."""
    if item is None:
        return None
    text = {name: value['S'] for name, value in item.items() if 'S' in value}
    return Person(employee_id=employee_id, active=bool(item.get('active', {}).get('BOOL', True)), location_id=text.get('location_id'),
                  language=text.get('language') or 'en', name=text.get('name'))  # fmt: skip


def _rid(request: RedeemRequest) -> str:
    from shared.wallet.redeem import redemption_id

    return redemption_id(request.program_id, request.employee_id, request.idempotency_key)
