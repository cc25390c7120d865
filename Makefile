# Pitcrew — the two commands: `make test` (everything CI runs) and `make bench` (figures).
SHELL := /bin/bash
.DEFAULT_GOAL := test

VENV ?= .venv
SAM_VENV ?= .venv-sam
CHECKOV_VENV ?= .venv-checkov
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A Python 3.12 (Lambda's runtime): PYTHON312 if given, else python3.12 on PATH, else a pyenv or
# uv-managed 3.12. Each candidate must really be 3.12 (pyenv shims exist for inactive versions).
PYTHON312 ?= $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null) \
	$$(ls -d $$HOME/.local/share/uv/python/cpython-3.12*/bin/python3.12 2>/dev/null) /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	if $$p -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; then command -v $$p || echo $$p; break; fi; done)

.PHONY: venv test lint typecheck cfn-lint checkov pytest browser bench run demo build validate deploy clean

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "error: no Python 3.12 found. Lambda runs python3.12; install it (e.g. 'pyenv install 3.12', 'uv python install 3.12'" >&2; \
	  echo "       or your OS package python3.12) or pass PYTHON312=/path/to/python3.12." >&2; exit 1; fi
	@echo "using $(PYTHON312)"
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP) lint typecheck cfn-lint checkov pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy shared functions tests infrastructure

cfn-lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

# checkov in its own virtual environment (like SAM): it pins boto3 1.35 and older packaging/networkx, which would
# break the project's boto3>=1.40. Offline: no download of external checks, no platform mapping; the skip list with
# the reason for each skip is .checkov.yaml.
$(CHECKOV_VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON312)" ]; then echo "error: no Python 3.12 found (see the venv target)" >&2; exit 1; fi
	$(PYTHON312) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet "$$($(PY) -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['tool']['pitcrew']['checkov'])")"
	@touch $@

checkov: $(STAMP) $(CHECKOV_VENV)/.installed
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

# Headless Chromium for tests/browser (Debian's chromium + chromium-driver, apt-get); CI installs it before pytest,
# elsewhere the browser tests skip without it (and say so).
browser:
	bash tests/browser/install.sh

pytest: $(STAMP) $(if $(filter true,$(CI)),browser)
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) -m tests.bench.run

# The local stack (moto server + the template's routes on 127.0.0.1:3000); `demo` exits after the summary.
run: $(STAMP)
	$(PY) -m infrastructure.local.run $(RUN_ARGS)

demo: $(STAMP)
	$(PY) -m infrastructure.local.run --demo $(RUN_ARGS)

# --- SAM (own virtual environment: it pins its own cfn-lint) -------------------------------------
$(SAM_VENV)/bin/sam:
	$(PYTHON312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli>=1.140,<2'

validate: $(SAM_VENV)/bin/sam
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint

# --build-in-source: run the build-* targets in the repo instead of a scratch copy of CodeUri (`.`),
# which would copy .venv and .venv-sam once per function (~1m45s instead of ~10s).
build: $(SAM_VENV)/bin/sam
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --build-in-source

# Then the people page: infrastructure/web/ to the stack's WebBucket, its config.json from the stack's outputs, and a
# CloudFront invalidation (infrastructure/web_publish.py; the stack from samconfig.toml unless STACK_NAME is given).
deploy: build $(STAMP)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided
	$(PY) -m infrastructure.web_publish $(if $(STACK_NAME),--stack-name $(STACK_NAME))

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# --- sam build targets (BuildMethod: makefile). SAM runs these with ARTIFACTS_DIR set. ------------
# The layer carries the third-party dependencies (cp312 manylinux wheels, no Docker, no local 3.12
# needed) and the `shared` package; each function carries only its own handler package.
LAYER_PLATFORM ?= manylinux2014_x86_64

build-DependenciesLayer:
	python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > "$(ARTIFACTS_DIR)/requirements.txt"
	python3 -m pip install --quiet --no-compile -r "$(ARTIFACTS_DIR)/requirements.txt" -t "$(ARTIFACTS_DIR)/python" \
	  --platform $(LAYER_PLATFORM) --implementation cp --python-version 3.12 --only-binary=:all: --upgrade
	rm -rf "$(ARTIFACTS_DIR)/requirements.txt" "$(ARTIFACTS_DIR)/python/bin"
	cp -r shared "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python" -name '__pycache__' -type d -prune -exec rm -rf {} +

define FUNCTION_BUILD
	mkdir -p "$(ARTIFACTS_DIR)/functions"
	cp functions/__init__.py "$(ARTIFACTS_DIR)/functions/"
	cp -r functions/$(1) "$(ARTIFACTS_DIR)/functions/"
	find "$(ARTIFACTS_DIR)" -name '__pycache__' -type d -prune -exec rm -rf {} +
endef

build-WebhookIngestFunction:
	$(call FUNCTION_BUILD,webhook_ingest)
build-TicketProcessorFunction:
	$(call FUNCTION_BUILD,ticket_processor)
build-DirectoryImportFunction:
	$(call FUNCTION_BUILD,directory_import)
build-QuarantineReplayFunction:
	$(call FUNCTION_BUILD,quarantine_replay)
build-LedgerAdjustFunction:
	$(call FUNCTION_BUILD,ledger_adjust)
build-DisputeDecideFunction:
	$(call FUNCTION_BUILD,dispute_decide)
build-SpotAwardFunction:
	$(call FUNCTION_BUILD,spot_award)
build-SpotApprovalsFunction:
	$(call FUNCTION_BUILD,spot_approvals)
build-LedgerAuditFunction:
	$(call FUNCTION_BUILD,ledger_audit)
build-KpiAggregatorFunction:
	$(call FUNCTION_BUILD,kpi_aggregator)
build-AlertPlannerFunction:
	$(call FUNCTION_BUILD,alert_planner)
build-AlertScannerFunction:
	$(call FUNCTION_BUILD,alert_scanner)
build-AlertSenderFunction:
	$(call FUNCTION_BUILD,alert_sender)
build-TwilioWebhooksFunction:
	$(call FUNCTION_BUILD,twilio_webhooks)
build-DailyRemindersFunction:
	$(call FUNCTION_BUILD,daily_reminders)
build-LeagueStreaksFunction:
	$(call FUNCTION_BUILD,league_streaks)
build-RecognitionFlagsFunction:
	$(call FUNCTION_BUILD,recognition_flags)
build-PeriodCloseFunction:
	$(call FUNCTION_BUILD,period_close)
build-LeagueScorerFunction:
	$(call FUNCTION_BUILD,league_scorer)
build-LeagueCloseFunction:
	$(call FUNCTION_BUILD,league_close)
build-LeagueCloseDivisionFunction:
	$(call FUNCTION_BUILD,league_close_division)
build-StatementFunction:
	$(call FUNCTION_BUILD,statement)
build-ForgetFunction:
	$(call FUNCTION_BUILD,forget)
build-RecognitionGiveFunction:
	$(call FUNCTION_BUILD,recognition_give)
build-RecognitionFeedFunction:
	$(call FUNCTION_BUILD,recognition_feed)
build-HoldReleaseFunction:
	$(call FUNCTION_BUILD,hold_release)
build-DebtRecoveryFunction:
	$(call FUNCTION_BUILD,debt_recovery)
build-PayoutExportFunction:
	$(call FUNCTION_BUILD,payout_export)
build-RedemptionRequestFunction:
	$(call FUNCTION_BUILD,redemption_request)
build-RedemptionFulfilFunction:
	$(call FUNCTION_BUILD,redemption_fulfil)
build-RedemptionAdminFunction:
	$(call FUNCTION_BUILD,redemption_admin)
build-RedemptionQueueFunction:
	$(call FUNCTION_BUILD,redemption_queue)
build-ApiPeopleFunction:
	$(call FUNCTION_BUILD,api_people)
build-ApiTeamFunction:
	$(call FUNCTION_BUILD,api_team)
build-ApiAdminFunction:
	$(call FUNCTION_BUILD,api_admin)
build-ApiKioskFunction:
	$(call FUNCTION_BUILD,api_kiosk)
build-ProgramPreviewFunction:
	$(call FUNCTION_BUILD,program_preview)
