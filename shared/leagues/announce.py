"""The announcements of a closed league: each winner hears their result, each location manager gets a summary of
their people. Called by the close once its divisions are frozen (`announce(results, league=..., now=...)`); safe to
call again: nothing goes twice.

Winners. Everyone with a prize, a trophy or a met challenge gets ONE notice: "Priya, Pitstop League, October 2026:
you finished 1st of 5 in Workshop technicians · South with 1,240 points: +1,000 points. Trophy: Sharpshooter."
(`shared.leagues.announce_texts`), in their language (en, es, hi, id). It is an alert of kind `league_result`, due at
once, so the alert sender delivers it as every alert: a WhatsApp Content template (variables: 1 first name, 2 the
league and month, 3 the result line, 4 the time) when they opted in and the service configuration has a
`league_result` template, falling back to SMS when WhatsApp refuses it (at once, or 63016 after acceptance), else
SMS, else e-mail; held through their quiet hours (the close runs at 00:05); opt-outs and invalid numbers respected.

Location managers. The directory's manager of the people in the results, and people with role `manager` at their
locations, each get ONE e-mail (SES) in their language: per location the participation of its people (scored /
eligible), then per division their people are in the division's top 3 (people of other locations are shown as
"another location", without a name), its participation, and each of their people with place, points, prize,
trophies and challenges. A manager without an e-mail address is reported, not sent to.

Exactly once per (program, month, recipient): a marker in the close's partition of the leagues table
(`CLOSE#<program>#<month>` / `SENT#<employee>#result|summary`, `shared.leagues.announce_store`): a winner's is
written in one transaction with their alert item (both `attribute_not_exists`); a manager's is a claim taken before
the e-mail goes and recorded sent after. A rerun finds the markers and sends nothing again.

Requests: ONE paged directory Query (unless the caller passes the people it has already read), one
TransactWriteItems per winner, and per manager a PutItem claim, the SES call and an UpdateItem. Personal data
(names, addresses) is never logged: the report carries employee ids and counts only.

What the caller's function needs (IAM): dynamodb:Query on the directory's `employees` index; dynamodb:PutItem and
dynamodb:UpdateItem on the leagues table (`CLOSE#*` partitions); dynamodb:PutItem on the alerts table (`ALERT#*`);
ses:SendEmail as `ALERT_EMAIL_FROM` (else `AUDIT_EMAIL_FROM`), the alert sender's identity; with
`Announcer.from_settings()`, ssm:GetParameter on the service configuration (the locations' names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.store import AlertStore
from shared.alerts.sync import PendingAlert, alert_id
from shared.leagues.announce_store import AnnounceStore
from shared.leagues.announce_texts import (
    SummaryDivision,
    SummaryLocation,
    SummaryRow,
    language,
    league_month,
    result_text,
    summary_email,
)
from shared.leagues.config import LeagueConfig
from shared.leagues.results import DivisionResult, Row
from shared.leagues.roster import Roster, RosterPerson
from shared.notify import EmailContent
from shared.notify.email import EmailNotSent

MANAGER_ROLES = frozenset({'manager'})


class EmailPort(Protocol):
    def __call__(self, to: str, content: EmailContent) -> str | None: ...


@dataclass(frozen=True)
class WinnerNotice:
    employee_id: str
    location_id: str | None
    ref: str  # the league and month, in the winner's language
    text: str  # the result line, in the winner's language


@dataclass(frozen=True)
class ManagerSummary:
    manager_id: str
    email: str | None
    locations: tuple[str, ...]
    people: int
    content: EmailContent


@dataclass
class AnnounceReport:
    """What an announcement did: counts and employee ids only (no names, no addresses)."""

    program_id: str
    month: str
    winners: int = 0  # notices planned by this call
    winners_already: int = 0  # announced by an earlier call
    summaries: int = 0  # e-mails sent by this call
    summaries_already: int = 0  # sent, or being sent, by another call
    summaries_failed: list[str] = field(default_factory=list)  # '<manager>: <SES error code>' (retried by a rerun)
    skipped: list[str] = field(default_factory=list)  # '<employee>: <why>'

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- planning (pure) -------------------------------------------------------------------------------------------------
def _single(results: Sequence[DivisionResult]) -> tuple[str, str]:
    periods = {(result.program_id, result.month) for result in results}
    if len(periods) != 1:
        raise ValueError(f'results: expected the divisions of one program and month, got {sorted(periods)}')
    (period,) = periods
    return period


def reward_of(row: Row, league: LeagueConfig) -> int:
    """The points the league pays this row: its prize, its trophies' and its challenges' points."""
    trophies = {trophy.trophy_id: trophy.points for trophy in league.trophies}
    challenges = {challenge.challenge_id: challenge.points for challenge in league.challenges}
    return row.prize + sum(trophies.get(t, 0) for t in row.trophies) + sum(challenges.get(c, 0) for c in row.challenges)


def _trophy_names(league: LeagueConfig, ids: Iterable[str]) -> list[str]:
    names = {trophy.trophy_id: trophy.name for trophy in league.trophies}
    return [names.get(i, i) for i in ids]


def _challenge_names(league: LeagueConfig, ids: Iterable[str]) -> list[str]:
    names = {challenge.challenge_id: challenge.name for challenge in league.challenges}
    return [names.get(i, i) for i in ids]


def plan_winners(results: Sequence[DivisionResult], league: LeagueConfig, people: Mapping[str, RosterPerson],
                 skipped: list[str] | None = None) -> list[WinnerNotice]:  # fmt: skip
    """One notice per person with a prize, a trophy or a met challenge (in a division's order), in their language."""
    program_month = _single(results)[1] if results else ''
    notices: list[WinnerNotice] = []
    for result in results:
        ranked = sum(1 for row in result.rows if row.rank is not None)
        for row in result.rows:
            if not (row.prize or row.trophies or row.challenges):
                continue
            person = people.get(row.employee_id)
            if person is None or not person.active:
                if skipped is not None:
                    skipped.append(f'{row.employee_id}: {"not in the directory" if person is None else "inactive"}')
                continue
            lang = language(person.language)
            text = result_text(lang, division=result.name, rank=row.rank, of=ranked, points=row.points, reward=reward_of(row, league),
                               trophies=_trophy_names(league, row.trophies),
                               challenges=_challenge_names(league, row.challenges))  # fmt: skip
            notices.append(WinnerNotice(row.employee_id, person.location_id, league_month(lang, league.name, program_month), text))
    return notices


def _summary_row(row: Row, league: LeagueConfig, name: str | None) -> SummaryRow:
    return SummaryRow(rank=row.rank, name=name, points=row.points, prize=row.prize, trophies=tuple(_trophy_names(league, row.trophies)),
                      challenges=tuple(_challenge_names(league, row.challenges)))  # fmt: skip


def managers_of(results: Sequence[DivisionResult], people: Mapping[str, RosterPerson]) -> dict[str, set[str]]:
    """Each location manager and the locations they get a summary of: the directory's manager of people in the
    results (their people's locations), and active people with a manager role at a location in the results."""
    locations: set[str] = set()
    managers: dict[str, set[str]] = {}
    for result in results:
        for row in result.rows:
            person = people.get(row.employee_id)
            if person is None or person.location_id is None:
                continue
            locations.add(person.location_id)
            manager = people.get(person.manager_id or '')
            if manager is not None and manager.active:
                managers.setdefault(manager.employee_id, set()).add(person.location_id)
    for person in people.values():
        if person.active and person.role in MANAGER_ROLES and person.location_id in locations:
            managers.setdefault(person.employee_id, set()).add(person.location_id)
    return managers


def plan_summaries(results: Sequence[DivisionResult], league: LeagueConfig, people: Mapping[str, RosterPerson],
                   location_names: Mapping[str, str] | None = None) -> list[ManagerSummary]:  # fmt: skip
    """One e-mail per location manager, about the people of their locations only."""
    if not results:
        return []
    month = _single(results)[1]
    names = location_names or {}

    def location_of(row: Row) -> str | None:
        person = people.get(row.employee_id)
        return person.location_id if person is not None else None

    summaries = []
    for manager_id, locations in sorted(managers_of(results, people).items()):
        manager = people[manager_id]
        lang = language(manager.language)
        theirs = [(result, [row for row in result.rows if location_of(row) in locations]) for result in results]
        by_location = [SummaryLocation(names.get(location, location),
                                       eligible=sum(1 for result in results for row in result.rows if location_of(row) == location),
                                       scored=sum(1 for result in results for row in result.rows if location_of(row) == location
                                                  and row.points > 0))
                       for location in sorted(locations)]  # fmt: skip
        divisions = []
        for result, rows in theirs:
            if not rows:
                continue
            mine = {row.employee_id for row in rows}
            top = tuple(_summary_row(row, league, people[row.employee_id].display_name if row.employee_id in mine else None)
                        for row in result.top(3))  # fmt: skip
            divisions.append(SummaryDivision(
                name=result.name, ranked=sum(1 for row in result.rows if row.rank is not None), eligible=result.eligible,
                scored=result.scored, participation_pct=result.participation_pct, top=top,
                people=tuple(_summary_row(row, league, people[row.employee_id].display_name) for row in rows),
            ))  # fmt: skip
        if not divisions:
            continue
        content = summary_email(lang, league=league.name, month=month, locations=by_location, divisions=divisions)
        count = sum(len(division.people) for division in divisions)
        summaries.append(ManagerSummary(manager_id, manager.email, tuple(sorted(locations)), count, content))
    return summaries


# --- sending ---------------------------------------------------------------------------------------------------------
def winner_alert(program_id: str, month: str, notice: WinnerNotice, now: datetime) -> PendingAlert:
    key = f'league|{program_id}|{month}|result|{notice.employee_id}'
    return PendingAlert(alert_id=alert_id(key, Recipient.ASSIGNEE), ticket_key=f'league|{program_id}', ref=notice.ref,
                        kind=AlertKind.LEAGUE_RESULT, metric='league', threshold=notice.text, role=Recipient.ASSIGNEE,
                        subject=notice.employee_id, due_at=now, location_id=notice.location_id)  # fmt: skip


def ses_email(to: str, content: EmailContent) -> str | None:
    """The e-mail port in AWS: SES v2 as the alert sender's identity (ALERT_EMAIL_FROM, else AUDIT_EMAIL_FROM)."""
    from shared.config import get_settings
    from shared.notify.email import SesEmailSender

    settings = get_settings()
    return SesEmailSender(settings.ALERT_EMAIL_FROM or settings.AUDIT_EMAIL_FROM, [to]).send(content)


@dataclass
class Announcer:
    store: AnnounceStore
    alerts: AlertStore
    email: EmailPort
    roster: Roster
    location_names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, location_names: Mapping[str, str] | None = None) -> Announcer:
        """The stores of the environment, SES, and the locations' names from the service configuration."""
        if location_names is None:
            from shared.sla.config import load_config

            location_names = {location.location_id: location.name or location.location_id for location in load_config().locations}
        return cls(AnnounceStore(), AlertStore(), ses_email, Roster(), dict(location_names))


def announce(results: Sequence[DivisionResult], *, league: LeagueConfig, now: datetime, announcer: Announcer | None = None,
             people: Iterable[RosterPerson] | None = None) -> AnnounceReport:  # fmt: skip
    """Announce a closed month: every division of one program and month (`results`), at `now` (the time of the call:
    winners' notices are due then, e-mail claims taken then). `people`: the directory as the close read it (else one
    listing is read here)."""
    if not results:
        raise ValueError('results: no division to announce')
    program_id, month = _single(results)
    announcer = announcer or Announcer.from_settings()
    by_id = {person.employee_id: person for person in (people if people is not None else announcer.roster.people())}
    report = AnnounceReport(program_id, month)

    for notice in plan_winners(results, league, by_id, report.skipped):
        action = announcer.alerts.new_alert_action(winner_alert(program_id, month, notice, now), now)
        if announcer.store.plan_result(program_id, month, notice.employee_id, notice.text, action, now):
            report.winners += 1
        else:
            report.winners_already += 1

    for summary in plan_summaries(results, league, by_id, announcer.location_names):
        if not summary.email:
            report.skipped.append(f'{summary.manager_id}: no e-mail address')
            continue
        if not announcer.store.claim_summary(program_id, month, summary.manager_id, now):
            report.summaries_already += 1
            continue
        try:
            message_id = announcer.email(summary.email, summary.content)
        except EmailNotSent as failed:
            announcer.store.summary_done(program_id, month, summary.manager_id, now, error=failed.code, people=summary.people)
            report.summaries_failed.append(f'{summary.manager_id}: {failed.code}')
            continue
        if message_id is None:
            reason = 'no sender identity'
            announcer.store.summary_done(program_id, month, summary.manager_id, now, error=reason, people=summary.people)
            report.summaries_failed.append(f'{summary.manager_id}: {reason} (ALERT_EMAIL_FROM)')
            continue
        announcer.store.summary_done(program_id, month, summary.manager_id, now, message_id=message_id, people=summary.people)
        report.summaries += 1
    return report
