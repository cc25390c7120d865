"""fcr: first-contact resolution, judged as the KPI judges it (`shared.kpi.definitions`, counter 'fcr'): the
ticket is resolved, its sender reports reply counts, it took one interaction (one agent touch, else one
reply), and it was not reopened.

The KPI looks for a reopen within `fcr_reopen_window_days` of the solve; a rule sees the current state, so
any reopen undoes it while the award is held. Set the rule's hold to that window (7 days = 168 h) with
clawback 'keep' and the award and the KPI agree.

Basis 'fcr', at the resolved time.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.programs.kinds.base import TICKET, Earning, KindContext, NoParams, RuleKind, owner
from shared.tickets.state import TicketState

Params = NoParams


def earnings(state: TicketState, ctx: KindContext, params: NoParams) -> Sequence[Earning]:
    if not state.is_resolved or state.resolved_at is None or not state.replies_reported or state.reopen_count > 0:
        return ()
    interactions = state.agent_touches or state.reply_count
    if interactions != 1:
        return ()
    return (Earning('fcr', state.resolved_at, owner(state), {'interactions': interactions}),)


KIND = RuleKind('fcr', Params, TICKET, earnings)
