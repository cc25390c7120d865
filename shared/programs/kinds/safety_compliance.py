"""safety_compliance: a manager's safety compliance check of the employee passed (`state.safety_report`,
report_type 'compliance_check', outcome 'passed').

Recipient: the employee checked (the event's assignee). Basis 'safety:<report id>', at the report's creation.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.programs.awards import Scalar
from shared.programs.kinds.base import Earning, KindContext, NoParams, RuleKind, owner
from shared.tickets.state import TicketState

Params = NoParams


def earnings(state: TicketState, ctx: KindContext, params: NoParams) -> Sequence[Earning]:
    report = state.safety_report
    if report is None or report.report_type != 'compliance_check' or report.outcome != 'passed' or state.created_at is None:
        return ()
    inputs: dict[str, Scalar] = {'report_id': report.report_id, 'checked_by': report.reported_by}
    return (Earning(f'safety:{report.report_id}', state.created_at, owner(state), inputs),)


KIND = RuleKind('safety_compliance', Params, frozenset({'safety_report'}), earnings, creditable=False)
