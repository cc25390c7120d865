"""The preview job's pure parts: a result too big for its DynamoDB item is cut to the per-location totals that move the
cost most (and says so), the job's id is the caller's key's and reveals nothing of it, and a job whose every attempt ran
out of time reads failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.programs.preview import Preview, PreviewRow
from shared.programs.preview_jobs import MAX_RECEIVES, PreviewJob, PreviewStatus, fit_result, preview_id_for

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def big_preview(locations: int, roles: int = 4, rules: int = 10) -> dict[str, Any]:
    """A preview of `locations` x roles x rules rows; location L<n> moves the cost by n."""
    rows = [PreviewRow(f'L{n:05d}', f'role{r}', f'rule{u}', current_points=100, candidate_points=100 + n, current_cost=10.0,
                       candidate_cost=10.0 + n / 10)  # fmt: skip
            for n in range(locations) for r in range(roles) for u in range(rules)]  # fmt: skip
    preview = Preview('support', '2026-11', 'UTC', 'USD', 10, ['support@3'], 'support@4 (candidate)', tickets=1_000_000, rows=rows)
    return preview.as_dict()


def size(value: Any) -> int:
    return len(json.dumps(value, separators=(',', ':')).encode())


def test_a_result_that_fits_is_kept_whole() -> None:
    # Given a preview of 5 locations x 4 roles x 10 rules (200 rows)
    result = big_preview(5)
    # When it is fitted to the item
    fitted, truncated = fit_result(result)
    # Then it is unchanged
    assert (fitted, truncated) == (result, False)


def test_a_result_too_big_keeps_the_per_location_totals_without_the_rows() -> None:
    # Given a preview of 200 locations x 4 roles x 10 rules (8,000 rows, over 350 KB as JSON)
    result = big_preview(200)
    assert size(result) > 350_000
    # When it is fitted
    fitted, truncated = fit_result(result)
    # Then the rows are left out (counted), every location's totals, the role, rule and overall totals stay
    assert truncated and fitted['truncated'] is True and size(fitted) <= 350_000
    assert 'rows' not in fitted and fitted['rows_omitted'] == 8_000
    assert fitted['by_location'] == result['by_location'] and fitted['locations_omitted'] == 0
    assert (fitted['by_rule'], fitted['by_role'], fitted['total']) == (result['by_rule'], result['by_role'], result['total'])


def test_too_many_locations_keep_those_that_move_the_cost_most() -> None:
    # Given 5,000 locations (their totals alone are over 350 KB)
    result = big_preview(5_000, roles=1, rules=1)
    # When it is fitted into 100 KB
    fitted, truncated = fit_result(result, limit=100_000)
    # Then it fits, and the locations kept are the ones whose cost moves most (the highest numbers), the others counted
    assert truncated and size(fitted) <= 100_000
    kept = [row['location_id'] for row in fitted['by_location']]
    assert 0 < len(kept) < 5_000 and fitted['locations_omitted'] == 5_000 - len(kept)
    assert kept == [f'L{n:05d}' for n in range(5_000 - len(kept), 5_000)]
    assert fitted['total'] == result['total']


def test_the_id_is_the_keys_and_tells_nothing_of_it() -> None:
    # Given two callers' scoped keys
    one, two = preview_id_for('sub-1:key-00001'), preview_id_for('sub-2:key-00001')
    # Then each key has one id, different per caller, holding nothing of the key
    assert one == preview_id_for('sub-1:key-00001') and one != two
    assert one.startswith('pv-') and len(one) == 35 and 'key' not in one


def test_a_job_whose_last_attempt_ran_out_of_time_reads_failed() -> None:
    # Given a job still `running` on its third attempt, started 20 minutes ago (the function stops after 15)
    job = PreviewJob.new('pv-' + 'a' * 32, 'support', '2026-11', '{}', 'admin:a', NOW - timedelta(hours=3))
    job = job.model_copy(update={'status': PreviewStatus.RUNNING, 'attempts': MAX_RECEIVES, 'started_at': NOW - timedelta(minutes=20)})
    # When it is read
    answer = job.answer(NOW)
    # Then it reads failed, with why
    assert (answer['status'], answer['reason']) == ('failed', 'the preview ran out of time (15 minutes) 3 times')
    # And a second attempt running as long still reads running (SQS will deliver it again)
    second = job.model_copy(update={'attempts': 2}).answer(NOW)
    assert second['status'] == 'running' and 'reason' not in second
