"""A seeded, realistic month of service work for the local stack: who works where, and every webhook the
senders would deliver, in the order they would arrive.

Two customer types from the brief:
- a contact centre with three sites: New York on Zendesk, London on Freshdesk (plus the web shop's queue on
  Gorgias), Chicago on Salesforce Service Cloud;
- a car dealer group with two workshops (Bengaluru, Pune) on a dealer-management system (DMS) sending job cards.
Customer surveys arrive through the survey tool (late: hours to days after the ticket was solved), Zendesk's
inline satisfaction rating and Gorgias' satisfaction score. The people side comes from three senders of its own:
the LMS (enrolments and completions for everyone), the QA tool (scorecard reviews of agents' tickets and of support
staff) and the workshops' safety form (managers' compliance checks and hazard reports, mostly about technicians).

What makes it realistic enough to test Pitcrew: tickets opened in each site's business hours and local time
zone, weekday-heavy; channel and priority mixes; first replies and resolutions with long-tailed durations;
reopens; job cards waiting for approval, upsell lines, late deliveries, repeat visits; helpdesk redeliveries
(the same payload twice), changes delivered out of order, a Salesforce outbound message carrying several
notifications, an agent missing from the HR export, and a few malformed or mis-signed payloads.

`generate(seed)` is pure: the same seed gives the same directory and the same deliveries. Signing happens at
send time (`Delivery.request`), because the senders sign with the current time. The people senders draw from a
random stream of their own, so adding them left every helpdesk, DMS and survey delivery as it was.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.sources.signing import signed_headers

Expect = Literal['accepted', 'rejected']
PITCREW_SIGNED = ('dms', 'survey', 'lms', 'quality', 'safety')  # senders using our HMAC scheme (shared.sources.signing)
SF_ORG = '00D5g000000ABCDEAZ'


@dataclass(frozen=True)
class Site:
    location_id: str
    region: str
    time_zone: str
    phone_prefix: str
    sources: tuple[str, ...]
    staff: tuple[tuple[str, int], ...]  # (role, headcount); one manager on top
    tickets: int


SITES = (
    Site('US-NYC', 'US-East', 'America/New_York', '+1212555', ('zendesk',), (('agent', 11), ('support', 1)), 680),
    Site('UK-LON', 'UK', 'Europe/London', '+4477009', ('freshdesk', 'gorgias'), (('agent', 9), ('support', 1)), 470),
    Site('US-CHI', 'US-Central', 'America/Chicago', '+1312555', ('salesforce',), (('agent', 7),), 320),
    Site('IN-BLR-01', 'IN-South', 'Asia/Kolkata', '+9198450', ('dms',), (('service_advisor', 3), ('technician', 5), ('support', 1)), 330),
    Site('IN-PNQ-01', 'IN-West', 'Asia/Kolkata', '+9198220', ('dms',), (('service_advisor', 2), ('technician', 4)), 250),
)
FIRST = [
    'Ana',
    'Bo',
    'Chandra',
    'Dev',
    'Elif',
    'Femi',
    'Gita',
    'Hugo',
    'Ines',
    'Jun',
    'Kofi',
    'Lena',
    'Mateo',
    'Nia',
    'Omar',
    'Priya',
    'Quinn',
    'Rosa',
    'Sven',
    'Tara',
    'Uma',
    'Vik',
    'Wen',
    'Xavi',
    'Yara',
    'Zane',
]
LAST = ['Adams', 'Bose', 'Chen', 'Diaz', 'Evans', 'Fofana', 'Gupta', 'Hale', 'Iyer', 'Jones', 'Kim', 'Lopez', 'Mehta', 'Novak', 'Okafor']
CHANNELS = {  # the sender's own words, with weights
    'zendesk': (('Mail', 45), ('Web form', 20), ('Chat', 15), ('Voice', 12), ('WhatsApp', 8)),
    'freshdesk': (('Email', 50), ('Portal', 20), ('Chat', 15), ('Phone', 15)),
    'gorgias': (('email', 55), ('chat', 30), ('instagram-direct-message', 15)),
    'salesforce': (('Email', 45), ('Web', 30), ('Phone', 25)),
}
PRIORITIES = (('Low', 30), ('Normal', 45), ('High', 20), ('Urgent', 5))
SF_PRIORITY = {'Low': 'Low', 'Normal': 'Medium', 'High': 'High', 'Urgent': 'High'}
CSAT = ((5, 50), (4, 25), (3, 10), (2, 7), (1, 8))


@dataclass(frozen=True)
class Employee:
    employee_id: str
    name: str
    role: str
    location_id: str
    region: str
    manager_id: str
    phone: str
    whatsapp: bool
    email: str
    time_zone: str
    agent_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One HTTP request a sender makes. `at` is the simulated time of sending."""

    at: datetime
    source: str
    label: str  # what this delivery is, for the summary: 'change', 'survey', 'redelivery', 'malformed', ...
    body: bytes
    expect: Expect = 'accepted'
    forged: bool = False  # signed or authenticated with the wrong secret
    events: int = 1  # ticket events in the body (a Salesforce message may carry several notifications)

    def request(self, secrets: dict[str, dict[str, str]], now: int) -> tuple[str, dict[str, str]]:
        """(path with query, headers) as the sender sends it, signed at unix time `now`."""
        secret = 'not-the-secret' if self.forged else secrets[self.source]['secret']
        path = f'/webhooks/{self.source}'
        if self.source == 'zendesk':
            stamp = datetime.fromtimestamp(now, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
            return path, zendesk_headers(self.body, secret, stamp)
        if self.source in PITCREW_SIGNED:
            return path, {'Content-Type': 'application/json', **signed_headers(secret, now, self.body)}
        if self.source == 'salesforce':
            return f'{path}?token={secret}', {'Content-Type': 'text/xml; charset=utf-8'}
        return path, {'Content-Type': 'application/json', 'X-Pitcrew-Token': secret}


@dataclass
class SampleMonth:
    month: date
    employees: list[Employee]
    deliveries: list[Delivery]
    tickets: int
    job_cards: int

    def directory_csv(self) -> str:
        sources = ('zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms')
        out = io.StringIO()
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow(
            [
                'employee_id',
                'name',
                'role',
                'job_grade',
                'location_id',
                'region',
                'manager_id',
                'phone',
                'whatsapp_opt_in',
                'email',
                'time_zone',
                'language',
                *(f'{s}_agent_id' for s in sources),
            ]
        )
        for e in self.employees:
            writer.writerow(
                [
                    e.employee_id,
                    e.name,
                    e.role,
                    '',
                    e.location_id,
                    e.region,
                    e.manager_id,
                    e.phone,
                    'yes' if e.whatsapp else 'no',
                    e.email,
                    e.time_zone,
                    'hi' if e.location_id.startswith('IN-') and e.role == 'technician' else 'en',
                    *(e.agent_ids.get(s, '') for s in sources),
                ]
            )
        return out.getvalue()

    def counts(self) -> dict[str, int]:
        by: dict[str, int] = {}
        for d in self.deliveries:
            by[d.label] = by.get(d.label, 0) + 1
        return by


def zendesk_headers(body: bytes, secret: str, timestamp: str | None = None) -> dict[str, str]:
    """Headers Zendesk sends: base64 HMAC-SHA256 of timestamp + raw body, keyed by the secret string."""
    ts = timestamp or datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
    signature = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
    return {'Content-Type': 'application/json', 'X-Zendesk-Webhook-Signature': signature, 'X-Zendesk-Webhook-Signature-Timestamp': ts}


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


class _Month:
    def __init__(self, seed: int, month: date, scale: float, clean: bool) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.clean = clean
        self.month = month
        self.scale = scale
        self.employees: list[Employee] = []
        self.deliveries: list[Delivery] = []
        self.tickets = 0
        self.job_cards = 0
        self.surveys: list[tuple[datetime, str, str, str]] = []  # (solved at, source, ticket id, agent key)
        self.handled: dict[str, list[tuple[datetime, str, str]]] = {}  # employee id -> (solved at, source, ticket id)

    # --- people -------------------------------------------------------------------------------
    def hire(self) -> dict[str, list[Employee]]:
        rng = self.rng
        by_site: dict[str, list[Employee]] = {}
        n = 0
        for site in SITES:
            people: list[Employee] = []
            manager_id = f'M{len(by_site) + 1}'
            for role, count in (('manager', 1), *site.staff):
                for _ in range(count):
                    n += 1
                    employee_id = manager_id if role == 'manager' else f'E{n:03d}'
                    first, last = rng.choice(FIRST), rng.choice(LAST)
                    email = f'{first}.{last}.{n}@{site.location_id.lower()}.example.com'.lower()
                    ids: dict[str, str] = {}
                    if role == 'agent':
                        for source in site.sources:
                            ids[source] = f'005{n:012d}AAA' if source == 'salesforce' else email
                    elif role == 'service_advisor':
                        ids['dms'] = f'SA-{n:03d}'
                    elif role == 'technician':
                        ids['dms'] = f'TECH-{n:03d}'
                    people.append(
                        Employee(
                            employee_id,
                            f'{first} {last}',
                            role,
                            site.location_id,
                            site.region,
                            '' if role == 'manager' else manager_id,
                            f'{site.phone_prefix}{n:04d}',
                            rng.random() < 0.8,
                            email,
                            site.time_zone,
                            ids,
                        )
                    )
            by_site[site.location_id] = people
            self.employees.extend(people)
        return by_site

    # --- time ----------------------------------------------------------------------------------
    def opening_time(self, site: Site) -> datetime:
        """A moment in the site's business hours: weekdays 8:00-19:00 mostly, weekends light."""
        rng, zone = self.rng, ZoneInfo(site.time_zone)
        days = [self.month + timedelta(days=i) for i in range(31) if (self.month + timedelta(days=i)).month == self.month.month]
        day = rng.choices(days, [1.0 if d.weekday() < 5 else 0.3 for d in days])[0]
        minute = int(rng.triangular(8 * 60, 19 * 60, 11 * 60))
        return datetime.combine(day, time(minute // 60, minute % 60), zone).astimezone(UTC)

    def after(self, start: datetime, median_minutes: float, sigma: float = 0.9) -> datetime:
        return start + timedelta(minutes=max(1.0, self.rng.lognormvariate(0, sigma) * median_minutes))

    def send(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if delivery.expect == 'accepted' and delivery.label == 'change' and self.rng.random() < 0.03:
            # the sender did not see our 200 in time and sends the same payload again
            at = delivery.at + timedelta(seconds=self.rng.randint(5, 600))
            if not self.clean:
                self.deliveries.append(Delivery(at, delivery.source, 'redelivery', delivery.body, events=delivery.events))

    def deliver_at(self, occurred: datetime) -> datetime:
        """When a change is delivered: seconds later, or (2%) minutes later, after newer changes."""
        late = self.rng.random() < 0.02
        delay = timedelta(minutes=self.rng.randint(30, 240)) if late else timedelta(seconds=self.rng.randint(1, 20))
        return occurred + (timedelta(seconds=1) if self.clean else delay)

    # --- helpdesk tickets ----------------------------------------------------------------------
    def helpdesk(self, site: Site, agents: list[Employee], unmapped_agent: str | None) -> None:
        rng = self.rng
        for _ in range(round(site.tickets * self.scale)):
            source = site.sources[0] if len(site.sources) == 1 or rng.random() < 0.67 else site.sources[1]
            self.tickets += 1
            ticket_id = f'{100000 + self.tickets}'
            agent = rng.choice(agents)
            agent_key = agent.agent_ids[source]
            if unmapped_agent and source == 'zendesk' and (rng.random() < 0.02 or self.tickets == 1):
                agent_key = unmapped_agent  # a new hire the HR export does not list yet (the first ticket, and 2%)
            opened = self.opening_time(site)
            priority = _pick(rng, PRIORITIES)
            channel = _pick(rng, CHANNELS[source])
            urgency = {'Urgent': 0.3, 'High': 0.6, 'Normal': 1.0, 'Low': 1.6}[priority]
            replied = self.after(opened, 40 * urgency)
            solved = self.after(replied, 300 * urgency, 1.1)
            changes: list[tuple[datetime, str]] = [(opened, 'open'), (replied, 'pending'), (solved, 'solved')]
            if rng.random() < 0.08:  # the customer writes back; solved again later
                reopened = self.after(solved, 600)
                changes += [(reopened, 'open'), (self.after(reopened, 180), 'solved')]
            rating = _pick(rng, CSAT) if rng.random() < 0.3 else None
            ctx = {'id': ticket_id, 'agent': agent_key, 'priority': priority, 'channel': channel, 'opened': opened, 'replied': replied}
            for moment, status in changes:
                body = self.ticket_body(source, ctx, moment, status, solved if status == 'solved' else None)
                self.send(Delivery(self.deliver_at(moment), source, 'change', body))
            if rating is not None:
                self.rating(source, ctx, changes[-1][0], rating)
            external_id = f'500{int(ticket_id):012d}AAA' if source == 'salesforce' else ticket_id
            self.handled.setdefault(agent.employee_id, []).append((changes[-1][0], source, external_id))

    def ticket_body(self, source: str, ctx: dict[str, Any], moment: datetime, status: str, solved: datetime | None) -> bytes:
        replied = ctx['replied'] if moment >= ctx['replied'] else None
        if source == 'zendesk':
            zendesk_status = {'open': 'Open', 'pending': 'Pending', 'solved': 'Solved'}[status]
            ticket = {
                'id': int(ctx['id']),
                'status': zendesk_status,
                'priority': ctx['priority'],
                'subject': 'Order enquiry',
                'via': ctx['channel'],
                'created_at': _iso(ctx['opened']),
                'updated_at': _iso(moment),
                'first_reply_at': _iso(replied) if replied else '',
                'assignee_email': ctx['agent'],
                'requester_email': f'customer{ctx["id"]}@example.org',
                'group': 'Support',
                'tags': 'order',
                'satisfaction_rating': '',
            }
            return json.dumps({'source': 'zendesk', 'event': 'ticket_status_changed', 'ticket': ticket}, separators=(',', ':')).encode()
        if source == 'freshdesk':
            freshdesk_status = {'open': 'Open', 'pending': 'Pending', 'solved': 'Resolved'}[status]
            ticket = {
                'id': ctx['id'],
                'subject': 'Delivery question',
                'status': freshdesk_status,
                'priority': 'Medium' if ctx['priority'] == 'Normal' else ctx['priority'],
                'source': ctx['channel'],
                'agent_email': ctx['agent'],
                'requester_email': f'customer{ctx["id"]}@example.org',
                'created_at': _iso(ctx['opened']),
                'updated_at': _iso(moment),
                'stats': {'first_responded_at': _iso(replied) if replied else '', 'resolved_at': _iso(solved) if solved else ''},
            }
            return json.dumps({'source': 'freshdesk', 'ticket': ticket}, separators=(',', ':')).encode()
        if source == 'gorgias':
            data = {
                'source': 'gorgias',
                'ticket_id': ctx['id'],
                'status': 'closed' if status == 'solved' else 'open',
                'channel': ctx['channel'],
                'via': ctx['channel'],
                'subject': 'Where is my order',
                'created_datetime': _iso(ctx['opened']),
                'updated_datetime': _iso(moment),
                'closed_datetime': _iso(solved) if solved else '',
                'assignee_email': ctx['agent'],
                'customer_email': f'customer{ctx["id"]}@example.org',
                'tags': 'shop',
            }
            if replied:  # the README's HTTP integration: the last message times tell an agent's reply (shared/sources/gorgias.py)
                data |= {'last_received_message_datetime': _iso(ctx['opened']), 'last_message_datetime': _iso(replied)}
            return json.dumps(data, separators=(',', ':')).encode()
        return self.salesforce_case(ctx, moment, status, solved, replied)

    @staticmethod
    def salesforce_case(ctx: dict[str, Any], moment: datetime, status: str, solved: datetime | None,
                        replied: datetime | None = None) -> bytes:
        closed = status == 'solved'
        # The README's record-triggered flow fills First_Response_At__c on the first outgoing e-mail.
        first_response = f'<sf:First_Response_At__c>{_iso(replied)}</sf:First_Response_At__c>' if replied else ''
        sf_status = {'open': 'Working', 'pending': 'Waiting on Customer', 'solved': 'Closed'}[status]
        closed_date = f'<sf:ClosedDate>{_iso(solved)}</sf:ClosedDate>' if closed and solved else '<sf:ClosedDate xsi:nil="true"/>'
        return (
            f'<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>500{int(ctx["id"]):012d}AAA</sf:Id>'
            f'<sf:CaseNumber>{ctx["id"]}</sf:CaseNumber>{closed_date}{first_response}<sf:CreatedDate>{_iso(ctx["opened"])}</sf:CreatedDate>'
            f'<sf:IsClosed>{"true" if closed else "false"}</sf:IsClosed><sf:LastModifiedDate>{_iso(moment)}</sf:LastModifiedDate>'
            f'<sf:Origin>{ctx["channel"]}</sf:Origin><sf:OwnerId>{ctx["agent"]}</sf:OwnerId><sf:Priority>{SF_PRIORITY[ctx["priority"]]}</sf:Priority>'
            f'<sf:Status>{sf_status}</sf:Status><sf:Subject>Account question</sf:Subject></sObject>'
        ).encode()

    def rating(self, source: str, ctx: dict[str, Any], solved: datetime, csat: int) -> None:
        rng = self.rng
        submitted = solved + timedelta(minutes=rng.choice([rng.randint(10, 240), rng.randint(240, 5 * 24 * 60)]))
        if source == 'gorgias':  # the score arrives as a later Gorgias update of the closed ticket
            data = json.loads(self.ticket_body('gorgias', ctx, submitted, 'solved', solved))
            data.update({'satisfaction_score': str(csat), 'scored_datetime': _iso(submitted), 'satisfaction_survey_id': f'sv{ctx["id"]}'})
            self.send(Delivery(self.deliver_at(submitted), 'gorgias', 'late survey', json.dumps(data, separators=(',', ':')).encode()))
            return
        body = {
            'schema': 'pitcrew.survey/v1',
            'response_id': f'resp-{source[:2]}-{ctx["id"]}',
            'ticket_source': source,
            # the ticket's id as its helpdesk knows it (a Salesforce Case Id, not its case number)
            'ticket_id': f'500{int(ctx["id"]):012d}AAA' if source == 'salesforce' else ctx['id'],
            'submitted_at': _iso(submitted),
            'csat': csat,
            'nps': min(10, max(0, csat * 2 + rng.randint(-1, 0))),
            'agent_key': ctx['agent'],
        }
        self.send(Delivery(self.deliver_at(submitted), 'survey', 'late survey', json.dumps(body, separators=(',', ':')).encode()))

    # --- job cards -----------------------------------------------------------------------------
    def workshop(self, site: Site, people: list[Employee]) -> None:
        rng = self.rng
        advisors = [p for p in people if p.role == 'service_advisor']
        technicians = [p for p in people if p.role == 'technician']
        vehicles: list[str] = []
        for _ in range(round(site.tickets * self.scale)):
            self.job_cards += 1
            opened = self.opening_time(site)
            repeat_of = None
            if vehicles and rng.random() < 0.05:
                vin = rng.choice(vehicles)
                repeat_of = f'JC-{site.location_id}-{vehicles.index(vin) + 1:05d}'
            else:
                vin = f'MA3EWDE1S{rng.randint(0, 99_999_999):08d}'
            vehicles.append(vin)
            card: dict[str, Any] = {
                'id': f'JC-{site.location_id}-{len(vehicles):05d}',
                'location_id': site.location_id,
                'type': rng.choice(['periodic_service', 'periodic_service', 'repair', 'accident_repair']),
                'opened_at': opened.astimezone(ZoneInfo(site.time_zone)).isoformat(),
                'promised_at': (opened + timedelta(hours=rng.choice([4, 6, 8, 24]))).astimezone(ZoneInfo(site.time_zone)).isoformat(),
                'advisor_id': rng.choice(advisors).agent_ids['dms'],
                'technician_ids': [t.agent_ids['dms'] for t in rng.sample(technicians, rng.choice([1, 1, 2]))],
                'vehicle': {'vin': vin, 'registration': f'KA{rng.randint(1, 53):02d}MX{rng.randint(1000, 9999)}'},
                'customer_id': f'CUST-{rng.randint(10000, 99999)}',
                'complaint_code': rng.choice(['PS-10K', 'PS-20K', 'BRK-01', 'AC-02']),
            }
            if repeat_of:
                card['repeat_of'] = repeat_of
            moments = [('opened', opened)]
            if rng.random() < 0.4:  # extra work or an upsell: the customer must approve
                card['upsell_lines'] = [
                    {
                        'line_id': 'UL-1',
                        'category': rng.choice(['amc', 'extended_warranty', 'ceramic_coating', 'tyres', 'batteries']),
                        'amount': f'{rng.randint(800, 15000)}.00',
                        'currency': 'INR',
                        'accepted': rng.random() < 0.6,
                    }
                ]
                asked = self.after(opened, 60)
                moments += [('awaiting_approval', asked), ('approved', self.after(asked, 90))]
            promised = datetime.fromisoformat(card['promised_at'])
            done = self.after(moments[-1][1], 180 * (0.8 if promised - opened > timedelta(hours=4) else 0.5))
            moments += [('work_done', done), ('delivered', self.after(done, 40))]
            for seq, (event_type, moment) in enumerate(moments, start=1):
                body = {
                    'schema': 'pitcrew.dms.job_card/v1',
                    'event_id': f'{card["id"]}-{seq}',
                    'event_type': event_type,
                    'occurred_at': moment.astimezone(ZoneInfo(site.time_zone)).isoformat(),
                    'job_card': card,
                }
                self.send(Delivery(self.deliver_at(moment), 'dms', 'change', json.dumps(body, separators=(',', ':')).encode()))

    # --- what goes wrong -----------------------------------------------------------------------
    def mistakes(self) -> None:
        """About 1 delivery in 300: bodies the sender garbled, and requests signed with the wrong secret."""
        rng = self.rng
        good = [d for d in self.deliveries if d.label in ('change', 'late survey')]
        for n in range(max(6, len(good) // 300)):
            original = rng.choice(
                [d for d in good if d.source == ('zendesk', 'dms', 'freshdesk', 'survey', 'gorgias', 'salesforce')[n % 6]] or good
            )
            at = original.at + timedelta(seconds=30)
            if n % 2 == 0:
                self.deliveries.append(Delivery(at, original.source, 'mis-signed', original.body, expect='rejected', forged=True))
            elif original.source == 'salesforce':
                self.deliveries.append(Delivery(at, 'salesforce', 'malformed', original.body[: len(original.body) // 2], expect='rejected'))
            else:
                broken = original.body.replace(b'"status":"', b'"status":"escalated-', 1) if n % 4 == 1 else original.body[:-7]
                if original.source == 'dms':
                    broken = original.body.replace(b'"event_type":"', b'"event_type":"teleported_', 1) if n % 4 == 1 else original.body[:-7]
                if original.source == 'survey':
                    broken = original.body.replace(b'"csat":', b'"csat":1', 1)  # csat 15: out of range
                self.deliveries.append(Delivery(at, original.source, 'malformed', broken, expect='rejected'))

    def batch_salesforce(self) -> None:
        """Salesforce sends up to 100 notifications per outbound message: group changes sent within a minute."""
        rest = [d for d in self.deliveries if d.source != 'salesforce' or d.label not in ('change',)]
        changes = sorted((d for d in self.deliveries if d.source == 'salesforce' and d.label == 'change'), key=lambda d: d.at)
        batched: list[Delivery] = []
        group: list[Delivery] = []
        for d in changes:
            if group and (d.at - group[0].at > timedelta(minutes=1) or len(group) == 5):
                batched.append(_salesforce_envelope(group))
                group = []
            group.append(d)
        if group:
            batched.append(_salesforce_envelope(group))
        self.deliveries = rest + batched
        # wrap the sObjects of redeliveries and mistakes the same way, one per message
        self.deliveries = [
            d if d.source != 'salesforce' or d.body.startswith(b'<?xml') else _salesforce_envelope([d], keep=d) for d in self.deliveries
        ]


def _salesforce_envelope(group: list[Delivery], keep: Delivery | None = None) -> Delivery:
    notifications = ''.join(
        f'<Notification><Id>04l{hashlib.sha256(d.body).hexdigest()[:12]}AAJ</Id>{d.body.decode()}</Notification>' for d in group
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{SF_ORG}</OrganizationId>'
        '<ActionId>04k5g0000008XyZAAU</ActionId><SessionId xsi:nil="true"/>'
        '<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/60.0/00D5g000000ABCD</EnterpriseUrl>'
        '<PartnerUrl>https://example.my.salesforce.com/services/Soap/u/60.0/00D5g000000ABCD</PartnerUrl>'
        f'{notifications}</notifications></soapenv:Body></soapenv:Envelope>'
    ).encode()
    first = keep or group[0]
    if keep is not None and keep.label == 'malformed':
        body = body[: len(body) // 2]
    return Delivery(first.at, 'salesforce', first.label, body, expect=first.expect, forged=first.forged, events=len(group))


# Courses per role: (course id, name, certification, milestone). Everyone also takes the first of COMMON.
COURSES: dict[str, tuple[tuple[str, str, bool, str | None], ...]] = {
    'agent': (
        ('CX-101', 'Writing replies customers understand', False, None),
        ('CX-210', 'De-escalating difficult conversations', False, 'cx_level_2'),
        ('PROD-300', 'Product specialist certification', True, 'product_specialist'),
    ),
    'support': (
        ('SUP-110', 'Case notes that the next person can use', False, None),
        ('SUP-220', 'Knowledge-base editor certification', True, 'kb_editor'),
    ),
    'service_advisor': (
        ('SA-120', 'Explaining a repair estimate', False, None),
        ('SA-240', 'Extended warranty and AMC advisor certification', True, 'advisor_certified'),
    ),
    'technician': (
        ('EV-HV-101', 'EV high-voltage safety, level 1', True, 'ev_level_1'),
        ('EV-HV-201', 'EV high-voltage systems, level 2', True, 'ev_level_2'),
        ('ADAS-150', 'ADAS camera and radar calibration', True, None),
        ('WS-130', 'Brake system diagnostics', False, None),
    ),
}
COMMON = (('HS-001', 'Workplace health and safety refresher', False, None), ('DP-010', 'Customer data protection', False, None))
SCORECARDS = {  # role -> (scorecard, max score)
    'agent': (('Email and chat handling', 100), ('Phone call handling', 50), ('Case-note accuracy', 20)),
    'support': (('Case-note accuracy', 20), ('Internal request handling', 100)),
}
CHECKS = ('PPE worn in the bay', 'Lift lock engaged before work', 'Lockout/tagout on EV high voltage', 'Chemicals stored and labelled')
HAZARDS = (
    ('Oil spill near bay {bay}, not yet cleaned', 'medium'),
    ('Frayed air hose on the impact wrench at bay {bay}', 'medium'),
    ('Lift {bay} arm pad cracked', 'high'),
    ('Emergency exit partly blocked by tyres', 'high'),
    ('Loose floor grating at the wash area', 'low'),
    ('Battery charger cable run across the walkway at bay {bay}', 'low'),
)


class _People:
    """The people senders: LMS enrolments and completions, QA reviews, workshop safety reports.

    A random stream of its own (seeded from the month's seed), so the helpdesk, DMS and survey deliveries are the
    same with or without it. Everything is sent once, a few seconds after it happened (also in the messy month: the
    redeliveries and out-of-order arrivals are the helpdesks' and the DMS's); the messy month adds one mis-signed
    and one malformed request per people sender, which the webhook quarantines. `scale` keeps that share of the
    people work (at least a fifth), as it does for tickets.
    """

    def __init__(self, world: _Month, by_site: dict[str, list[Employee]]) -> None:
        self.world = world
        self.by_site = by_site
        self.rng = random.Random(f'{world.seed}/people')
        self.sites = {site.location_id: site for site in SITES}
        self.keep = max(world.scale, 0.2)
        self.sent: list[Delivery] = []

    def generate(self) -> None:
        for location_id, people in self.by_site.items():
            site = self.sites[location_id]
            manager = next(p for p in people if p.role == 'manager')
            staff = [p for p in people if p.role != 'manager']
            for person in staff:
                self.training(site, person)
            for person in staff:
                if person.role in SCORECARDS:
                    self.reviews(site, person, manager)
            if 'dms' in site.sources:
                for person in staff:
                    self.safety(site, person, manager)
        if not self.world.clean:
            self.mistakes()
        self.world.deliveries.extend(self.sent)

    # --- when ---------------------------------------------------------------------------------------------------
    def moment(self, site: Site, earliest: date | None = None) -> datetime:
        """A working moment at the site (weekdays mostly, 9:00-18:00 local), on or after `earliest`."""
        rng, month = self.rng, self.world.month
        days = [month + timedelta(days=i) for i in range(31) if (month + timedelta(days=i)).month == month.month]
        days = [d for d in days if earliest is None or d >= earliest] or days[-1:]
        day = rng.choices(days, [1.0 if d.weekday() < 5 else 0.2 for d in days])[0]
        minute = int(rng.triangular(9 * 60, 18 * 60, 11 * 60))
        return datetime.combine(day, time(minute // 60, minute % 60), ZoneInfo(site.time_zone)).astimezone(UTC)

    def local(self, site: Site, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(site.time_zone)).isoformat()

    def send(self, source: str, moment: datetime, body: dict[str, Any]) -> None:
        delay = self.rng.randint(1, 20)  # drawn in the clean month too, so both months hold the same work
        at = moment + timedelta(seconds=1 if self.world.clean else delay)
        self.sent.append(Delivery(at, source, 'change', json.dumps(body, separators=(',', ':')).encode()))

    # --- LMS ----------------------------------------------------------------------------------------------------
    def training(self, site: Site, person: Employee) -> None:
        rng = self.rng
        courses = list(COURSES.get(person.role, ())) + [COMMON[0]]
        taken = rng.sample(courses, k=min(len(courses), rng.choice([1, 1, 2, 2, 3])))
        if rng.random() < 0.3:
            taken.append(COMMON[1])
        for course_id, name, certification, milestone in taken:
            kept = rng.random() < self.keep
            enrolment_id = f'ENR-{person.employee_id}-{course_id}'
            enrolled = self.moment(site)
            course = {'id': course_id, 'name': name, 'certification': certification}
            enrolment = {'id': enrolment_id, 'employee_id': person.employee_id, 'course': course, 'enrolled_at': self.local(site, enrolled)}
            # Most finish within days to two weeks; about a quarter are still in progress at the month's end.
            completed = enrolled + timedelta(days=rng.lognormvariate(1.6, 0.7), hours=rng.uniform(0, 6))
            next_month = datetime.combine(self.world.month.replace(day=28) + timedelta(days=4), time(), UTC).replace(day=1)
            finishes = rng.random() < 0.8 and completed < next_month - timedelta(hours=12)  # in the month, in every zone
            score = int(min(100, max(40, rng.gauss(84, 9)))) if certification or rng.random() < 0.5 else None
            if not kept:
                continue
            self.send('lms', enrolled, self.lms_body(f'lms-{enrolment_id}-enrolled', 'enrolled', enrolled, site, enrolment))
            if finishes:
                done = {**enrolment, 'completed_at': self.local(site, completed), 'score': score, 'milestone': milestone}
                self.send('lms', completed, self.lms_body(f'lms-{enrolment_id}-completed', 'completed', completed, site, done))

    def lms_body(self, event_id: str, event_type: str, moment: datetime, site: Site, enrolment: dict[str, Any]) -> dict[str, Any]:
        return {
            'schema': 'pitcrew.lms.training/v1',
            'event_id': event_id,
            'event_type': event_type,
            'occurred_at': self.local(site, moment + timedelta(seconds=4)),
            'enrolment': {key: value for key, value in enrolment.items() if value is not None},
        }

    # --- QA reviews ---------------------------------------------------------------------------------------------
    def reviews(self, site: Site, person: Employee, manager: Employee) -> None:
        """Four reviews a month per agent, of tickets they solved; two of each support-staff member's work."""
        rng = self.rng
        handled = sorted(self.world.handled.get(person.employee_id, []))
        count = 4 if person.role == 'agent' else 2
        picks = rng.sample(handled, k=min(count, len(handled))) if handled else [None] * count
        for n, pick in enumerate(picks, start=1):
            scorecard, max_score = rng.choice(SCORECARDS[person.role])
            share = min(1.0, max(0.3, rng.gauss(0.84, 0.1)))
            score = round(share * max_score * 2) / 2  # half points
            solved_at = pick[0] if pick else self.moment(site)
            reviewed = max(solved_at, datetime.combine(self.world.month, time(), UTC)) + timedelta(days=rng.uniform(1, 6))
            if reviewed.month != self.world.month.month or rng.random() >= self.keep:
                continue
            review: dict[str, Any] = {
                'id': f'QA-{person.employee_id}-{n:02d}',
                'employee_id': person.employee_id,
                'reviewer_id': manager.employee_id,
                'scorecard': scorecard,
                'score': f'{score:.1f}' if score % 1 else int(score),
                'max_score': max_score,
                'reviewed_at': _iso(reviewed),
            }
            if pick:
                review['ticket'] = {'source': pick[1], 'id': pick[2]}
            occurred = _iso(reviewed + timedelta(seconds=3))
            body = {'schema': 'pitcrew.quality.review/v1', 'event_id': f'qa-{review["id"]}', 'occurred_at': occurred, 'review': review}
            self.send('quality', reviewed, body)

    # --- safety -------------------------------------------------------------------------------------------------
    def safety(self, site: Site, person: Employee, manager: Employee) -> None:
        """Weekly compliance checks of each technician (monthly for advisors and support), and hazard reports."""
        rng = self.rng
        checks = 4 if person.role == 'technician' else 1
        hazards = rng.choice([0, 0, 1, 1, 2]) if person.role == 'technician' else int(rng.random() < 0.3)
        for n in range(1, checks + 1):
            week_start = self.world.month + timedelta(days=7 * (n - 1))
            moment = self.moment(site, earliest=week_start)
            passed = rng.random() < (0.9 if person.role == 'technician' else 0.95)
            check = rng.choice(CHECKS)
            report: dict[str, Any] = {
                'id': f'SC-{site.location_id}-{person.employee_id}-{n}',
                'type': 'compliance_check',
                'employee_id': person.employee_id,
                'reported_by': manager.employee_id,
                'outcome': 'passed' if passed else 'failed',
                'description': check if passed else f'{check}: not followed, corrected on the spot',
                'location_id': site.location_id,
            }
            if not passed:
                report['severity'] = rng.choice(['low', 'medium', 'medium', 'high'])
            if rng.random() < self.keep:
                self.send('safety', moment, self.safety_body(report, moment, site))
        for n in range(1, hazards + 1):
            moment = self.moment(site)
            text, severity = rng.choice(HAZARDS)
            report = {
                'id': f'HZ-{site.location_id}-{person.employee_id}-{n}',
                'type': 'hazard_report',
                'employee_id': person.employee_id,
                'reported_by': manager.employee_id,
                'outcome': 'reported',
                'severity': severity,
                'description': text.format(bay=rng.randint(1, 8)),
                'location_id': site.location_id,
            }
            if rng.random() < self.keep:
                self.send('safety', moment, self.safety_body(report, moment, site))

    def safety_body(self, report: dict[str, Any], moment: datetime, site: Site) -> dict[str, Any]:
        return {
            'schema': 'pitcrew.safety.report/v1',
            'event_id': f'sf-{report["id"]}',
            'occurred_at': self.local(site, moment),
            'report': report,
        }

    # --- what goes wrong ----------------------------------------------------------------------------------------
    def mistakes(self) -> None:
        """Per people sender: one request signed with the wrong secret, one the sender garbled (a field renamed)."""
        for source, field_name in (('lms', b'"employee_id"'), ('quality', b'"max_score"'), ('safety', b'"reported_by"')):
            originals = [d for d in self.sent if d.source == source]
            if not originals:
                continue
            forged, garbled = self.rng.choice(originals), self.rng.choice(originals)
            self.sent.append(Delivery(forged.at + timedelta(seconds=30), source, 'mis-signed', forged.body, expect='rejected', forged=True))
            broken = garbled.body.replace(field_name, field_name[:-1] + b'_id"', 1)
            self.sent.append(Delivery(garbled.at + timedelta(seconds=30), source, 'malformed', broken, expect='rejected'))


def generate(seed: int = 2026, month: date = date(2026, 10, 1), scale: float = 1.0, *, clean: bool = False) -> SampleMonth:
    """The sample month. `scale` shrinks the ticket counts (the tests' short form); people stay the same.

    `clean=True` gives the same month as every sender would ideally deliver it: each change once, in the order
    it happened, nothing malformed. Pitcrew must award exactly the same points for both.
    """
    world = _Month(seed, month, scale, clean)
    by_site = world.hire()
    for site in SITES:
        people = by_site[site.location_id]
        if 'dms' in site.sources:
            world.workshop(site, people)
        else:
            agents = [p for p in people if p.role == 'agent']
            world.helpdesk(site, agents, 'new.hire@us-nyc.example.com' if site.location_id == 'US-NYC' else None)
    if not clean:
        world.mistakes()
    _People(world, by_site).generate()
    world.batch_salesforce()
    world.deliveries.sort(key=lambda d: d.at)
    return SampleMonth(month, world.employees, world.deliveries, world.tickets, world.job_cards)


def sample_people(seed: int = 2026) -> list[Employee]:
    """The sample month's directory alone: the same people generate() hires for `seed` (the local users of the people
    API are chosen from them), without generating the month's tickets."""
    return [person for staff in _Month(seed, date(2026, 10, 1), 1.0, False).hire().values() for person in staff]


# Business hours of the sample sites, as an admin would enter them in the service configuration.
_SITE_HOURS: dict[str, tuple[str, str | None, dict[str, list[tuple[str, str]]]]] = {
    'US-NYC': ('US', 'NY', {day: [('08:00', '20:00')] for day in ('mon', 'tue', 'wed', 'thu', 'fri')} | {'sat': [('10:00', '16:00')]}),
    'UK-LON': ('GB', 'ENG', {day: [('08:00', '19:00')] for day in ('mon', 'tue', 'wed', 'thu', 'fri')}),
    'US-CHI': ('US', 'IL', {day: [('08:00', '19:00')] for day in ('mon', 'tue', 'wed', 'thu', 'fri')}),
    'IN-BLR-01': ('IN', 'KA', {day: [('09:00', '13:00'), ('14:00', '19:00')] for day in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat')}),
    'IN-PNQ-01': ('IN', 'MH', {day: [('09:00', '13:00'), ('14:00', '19:00')] for day in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat')}),
}


def service_config() -> dict[str, Any]:
    """The sample sites' service configuration (locations, calendars; default SLA policies and KPI settings)."""
    calendars, locations = [], []
    for site in SITES:
        country, subdivision, hours = _SITE_HOURS[site.location_id]
        calendar_id = f'hours-{site.location_id.lower()}'
        calendars.append({'calendar_id': calendar_id, 'timezone': site.time_zone, 'hours': hours,
                          'holiday_country': country, 'holiday_subdivision': subdivision})
        locations.append({'location_id': site.location_id, 'region': site.region, 'calendar_id': calendar_id})
    calendars.append({'calendar_id': '24x7', 'timezone': 'UTC', 'hours': {day: [('00:00', '24:00')] for day in
                                                                           ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')}})
    kinds = ('sla_risk', 'sla_breach', 'promise_missed', 'approval_waiting', 'repeat_visit', 'upsell_flagged', 'daily_reminder')
    templates = {kind: {lang: 'HX' + hashlib.md5(f'{kind}/{lang}'.encode()).hexdigest() for lang in ('en', 'hi')} for kind in kinds}
    alerts = {
        'whatsapp_templates': templates,
        'reminders': {'targets': {'agent': 'First reply within 1 h, CSAT 90%.',
                                  'service_advisor': 'Deliver every job card on its promised time.',
                                  'technician': 'Fix first time: no repeat visits.'}},
    }  # fmt: skip
    return {'calendars': calendars, 'locations': locations, 'default_calendar_id': '24x7', 'alerts': alerts}
