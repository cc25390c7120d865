"""Spot awards, collusion flags and redemptions in the sample month, for `make run`'s summary, in the process of the local
stack (its AWS already configured). Peer thanks are given first by `infrastructure.recognition.give_and_report`;
the payroll payout follows (`infrastructure.payouts`).

- `plant_collusion(month)`: three colleagues at one workshop give as a ring would (A->B->C->A) and A and B thank each
  other above the program's reciprocal share: what the daily collusion check exists to flag. Given through the same
  use case as every recognition (`Recognitions.give`), with idempotency keys: a re-run gives nothing twice.
- `spot_awards(month)`: each program's first manager gives one of their people a spot award within the approval
  amount (written at once) and one above it (requested: it waits for the manager's manager or an admin).
- `flags_and_report(month, invoke)`: the collusion check runs through its function as the console would
  ({program_id, month}); the flags raised are printed with their evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

FLAGS_HANDLER = 'functions.recognition_flags.app.lambda_handler'


def _month_start(month: str) -> datetime:
    return datetime.fromisoformat(f'{month}-01T00:00:00+00:00').astimezone(UTC)


def _people() -> list[Any]:
    from shared.directory.store import DirectoryStore

    return sorted(DirectoryStore().profile.employees_index.query('EMPLOYEE'), key=lambda p: p.employee_id)


def plant_collusion(month: str) -> dict[str, Any]:
    """A ring and a reciprocal pair in the first program with a recognition section, at its first location with three
    people it admits."""
    from shared.programs.loader import load_programs
    from shared.recognition.give import GiveRequest, Member, RecognitionRefused, admits_giver, admits_receiver
    from shared.recognition.service import Recognitions
    from shared.recognition.store import RecognitionStore

    book = load_programs()
    at = _month_start(month) + timedelta(days=3, hours=6)
    members = [Member(employee_id=p.employee_id, name=p.name, role=p.role, job_grade=p.job_grade, location_id=p.location_id,
                      region=p.region, manager_id=p.manager_id, active=bool(p.active), language=p.language or 'en')
               for p in _people()]  # fmt: skip
    for program_id in book.programs:
        version = book.for_basis(program_id, at)
        if version is None or version.document.recognition is None:
            continue
        document, config = version.document, version.document.recognition
        by_location: dict[str, list[Member]] = {}
        for member in members:
            if admits_giver(document, member, at) and admits_receiver(document, member, at):
                by_location.setdefault(str(member.location_id), []).append(member)
        trio = next((people[:3] for _, people in sorted(by_location.items()) if len(people) >= 3), None)
        if trio is None:
            continue
        a, b, c = trio
        reciprocal = min(config.pair_cap, int(config.allowance_for(a.role) * config.collusion.reciprocal_share) + 10)
        link = max(config.collusion.ring_min_points, config.min_points)
        gives = [(a, b, reciprocal), (b, a, reciprocal), (b, c, link), (c, a, link)]
        recognitions = Recognitions(RecognitionStore(), lambda: book)
        given = 0
        refused: list[str] = []
        for n, (giver, receiver, points) in enumerate(gives):
            value = config.values[n % len(config.values)].tag
            request = GiveRequest(program_id=program_id, giver_id=giver.employee_id, receiver_id=receiver.employee_id, points=points,
                                  message='thanks for covering for me again', value=value,
                                  idempotency_key=f'make-run-{month}-{program_id}-planted-{n}')  # fmt: skip
            try:
                recognitions.give(request, at + timedelta(minutes=n))
                given += 1
            except RecognitionRefused as refusal:
                refused.append(refusal.code)
        print(f'\nplanted in {program_id} at {a.location_id}: {a.employee_id}<->{b.employee_id} {reciprocal} points each way, '
              f'a ring {a.employee_id}->{b.employee_id}->{c.employee_id}->{a.employee_id}; {given} given'
              + (f', refused {refused}' if refused else ''))  # fmt: skip
        return {'program_id': program_id, 'given': given, 'refused': refused}
    return {}


def spot_awards(month: str) -> dict[str, Any]:
    """Per program with spot awards: its first manager (by id) with a report in the program awards them once within the
    approval amount and once above it."""
    from shared.ledger.approvals import Actor
    from shared.programs.loader import load_programs
    from shared.recognition.spot import SpotRefused, SpotRequest
    from shared.recognition.spot_service import SpotAwards

    book = load_programs()
    at = _month_start(month) + timedelta(days=20, hours=8)
    people = _people()
    awards = SpotAwards.default()
    outcome: dict[str, Any] = {}
    print(f'\nspot awards in {month}')
    for program_id in book.programs:
        version = book.for_basis(program_id, at)
        config = version.document.spot_awards if version is not None else None
        if version is None or config is None:
            continue
        scope = version.document.scope
        reports = [p for p in people if p.manager_id and p.active and (not scope.roles or p.role in scope.roles)
                   and (not scope.locations or p.location_id in scope.locations)]  # fmt: skip
        if not reports:
            continue
        receiver = reports[0]
        manager = receiver.manager_id
        actor = Actor(via='console', reference=f'make-run-{month}', claimed='make run')
        results = []
        for n, points in enumerate((min(config.approval_above, config.max_points), min(config.approval_above + 100, config.max_points))):
            request = SpotRequest(program_id=program_id, manager_id=manager, employee_id=receiver.employee_id, points=points,
                                  reason_id=config.reasons[n % len(config.reasons)].reason_id, message='above and beyond this week',
                                  idempotency_key=f'make-run-{month}-{program_id}-spot-{n}')  # fmt: skip
            try:
                result = awards.award(request, actor, at + timedelta(hours=n))
                results.append(f'{points} -> {getattr(result.status, "value", result.status)}')
            except SpotRefused as refused:
                results.append(f'{points} refused ({refused})')
        print(f'  {program_id}: {manager} to {receiver.employee_id}: ' + '; '.join(results))
        outcome[program_id] = results
    return outcome


def flags_and_report(month: str, invoke: Callable[[str, dict[str, Any]], Any]) -> dict[str, Any]:
    from shared.programs.loader import load_programs
    from shared.recognition.flag_run import month_flags
    from shared.recognition.flag_store import FlagStore

    store = FlagStore()
    raised: dict[str, int] = {}
    print(f'\ncollusion flags of {month} (the daily check, run for the month; flagged to the managers in scope, never blocked)')
    for program_id, versions in load_programs().programs.items():
        if versions[0].document.recognition is None:
            continue
        invoke(FLAGS_HANDLER, {'program_id': program_id, 'month': month})
        flags = month_flags(store, program_id, month)
        raised[program_id] = len(flags)
        if not flags:
            print(f'  {program_id}: none')
        for flag in flags:
            told = ', '.join(flag['managers']) or 'admins (no manager)'
            print(f'  {program_id}: {flag["kind"]} {"+".join(flag["members"])}: {flag["summary"]} (told: {told})')
    return raised


def redeem_and_report(month: str, wait: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Near the month's end, people with points spend them through the use case the redemption function and the people
    API call (`Redemptions.request`), each with its own idempotency key, one request sent twice (a client's retry:
    debited once); vouchers are fulfilled by the local fake provider through the queue and its worker, manual items
    (service discounts, leave, donations) wait for an admin. Prints what was redeemed, refused and fulfilled."""
    from collections import Counter

    from shared.ledger.store import LedgerStore
    from shared.programs.loader import load_programs
    from shared.wallet.catalogue_loader import load_catalogues
    from shared.wallet.redeem import RedeemRequest
    from shared.wallet.service import Redemptions

    book, catalogues = load_programs(), load_catalogues()
    redemptions = Redemptions.from_settings()
    ledger = LedgerStore()
    at = _month_start(month) + timedelta(days=27, hours=9)
    outcome: dict[str, Any] = {}
    print(f'\nredemptions in {month} (reserved at once, fulfilled by the provider or an admin, refunded if they fail)')
    people = _people()
    rids: dict[str, list[str]] = {}
    for program_id in book.programs:
        catalogue = catalogues.get(program_id)
        version = book.latest(program_id)
        if catalogue is None or version is None:
            continue
        scope = version.document.scope
        members = [p for p in people if p.active and (not scope.roles or p.role in scope.roles)
                   and (not scope.locations or p.location_id in scope.locations)]  # fmt: skip
        items = sorted(catalogue.document.items, key=lambda item: item.price_points)
        statuses: Counter[str] = Counter()
        refused: Counter[str] = Counter()
        lines: list[str] = []
        for n, person in enumerate(members):
            available = ledger.balance(person.employee_id, with_pending=False).available
            city = catalogue.document.city_of(person.location_id)
            affordable = [item for item in items if item.price_points <= available // 2  # half is kept (the payout follows)
                          and item.offered_at(person.location_id, city)]  # fmt: skip
            if not affordable:
                continue
            by_provider = [item for item in affordable if item.provider != 'manual'] or affordable
            item = by_provider[-1] if n % 3 else affordable[0]  # mostly vouchers (same day), some manual items (an admin)
            request = RedeemRequest(program_id=program_id, employee_id=person.employee_id, item_id=item.item_id,
                                    idempotency_key=f'make-run-{month}-{program_id}-{n}')  # fmt: skip
            sends = 2 if n == 0 else 1  # the first one is retried by its client: the same key answers, never debits twice
            for _ in range(sends):
                try:
                    answer = redemptions.request(request, at + timedelta(minutes=n))
                    statuses[str(answer.get('status'))] += 1
                    if not answer.get('duplicate'):
                        rids.setdefault(program_id, []).append(str(answer['redemption_id']))
                    if len(lines) < 5:
                        lines.append(f'{person.employee_id} {item.name} ({item.price_points} points): {answer.get("status")}'
                                     + (' (retry answered, not debited again)' if answer.get('duplicate') else ''))  # fmt: skip
                except Exception as refusal:  # a refusal names its reason; nothing is debited
                    refused[getattr(refusal, 'code', type(refusal).__name__)] += 1
        print(f'  {program_id}: {dict(statuses)}; refused {dict(refused) or "none"}')
        for line in lines:
            print(f'    {line}')
        outcome[program_id] = {'requested': dict(statuses), 'refused': dict(refused)}
    if wait is not None:
        wait()  # the fulfilment queue and its worker (the fake provider)
    from shared.ledger.approvals import Actor

    admin = Actor(via='console', reference=f'make-run-{month}-admin', claimed='workshop admin')
    for _program_id, ids in sorted(rids.items()):  # an admin hands over the first manual item still waiting
        waiting = next((rid for rid in ids if redemptions.status(rid)['status'] == 'reserved'), None)
        if waiting is not None:
            redemptions.decide(waiting, fulfil=True, actor=admin, now=at + timedelta(hours=6), reference='handed over at the workshop')
    for program_id, ids in sorted(rids.items()):
        final = Counter(str(redemptions.status(rid)['status']) for rid in ids)
        outcome[program_id]['now'] = dict(final)
        print(f'  {program_id} after fulfilment: {dict(final)}')
    return outcome
