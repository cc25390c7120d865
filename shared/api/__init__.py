"""The people-facing HTTP API (issue 15): who is asking (`principal`), what they may see (`scope`, the one place that
decides), signed cursors, per-user throttling, idempotency keys, kiosk sessions, and the resolver every route uses
(`http`). The routes themselves live in functions/api_people, api_team, api_admin and api_kiosk."""
