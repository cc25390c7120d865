"""The README's commands against the local AWS (`make run` serves it on port 5001), run as written in a shell with no AWS
configuration at all (no region, no credentials, no config files): what a newcomer's machine looks like."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from infrastructure.local.stack import REGION, SERVICE_CONFIG_PARAMETER
from infrastructure.local.template_resources import TABLE_ENV, create_tables

ROOT = Path(__file__).resolve().parents[2]
README_PORT = '5001'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


@pytest.fixture
def local_aws() -> Iterator[str]:
    """A moto server, as the local stack serves one (its own state, not the tests' in-process mock)."""
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=free_port(), verbose=False)
    server.start()
    try:
        yield f'http://127.0.0.1:{server._port}'
    finally:
        server.stop()


def unconfigured_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment without any AWS setting, and config files that do not exist."""
    # Also without the table names other tests of this process exported (a newcomer's shell has none of them).
    table_vars = {variable for variable, _ in TABLE_ENV.values()}
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_') and k not in table_vars}
    env.update({'AWS_CONFIG_FILE': str(tmp_path / 'no-config'), 'AWS_SHARED_CREDENTIALS_FILE': str(tmp_path / 'no-credentials'),
                'PYTHONPATH': str(ROOT)})
    return env


def seed(endpoint: str, region: str, min_sample: int) -> None:
    """The template's tables, the service configuration parameter, and three first replies of one location's day."""
    session = boto3.Session(region_name=region, aws_access_key_id='seed', aws_secret_access_key='seed')
    dynamodb = session.client('dynamodb', endpoint_url=endpoint)
    create_tables(dynamodb)
    session.client('ssm', endpoint_url=endpoint).put_parameter(Name=SERVICE_CONFIG_PARAMETER, Value=json.dumps({'kpi': {'min_sample': min_sample}}),
                                                 Type='String')
    dynamodb.put_item(TableName='pitcrew-kpi', Item={'pk': {'S': 'location#US-NYC'}, 'sk': {'S': '2026-10-05'},
                                                     't': {'N': '3'}, 'fr_s': {'N': '600'}, 'fr_n': {'N': '3'}})


def readme_commands() -> list[str]:
    """Every command of the README's bash blocks that talks to the local AWS (continuation lines joined)."""
    blocks = re.findall(r'```bash\n(.*?)```', (ROOT / 'README.md').read_text(), flags=re.S)
    lines = [line for block in blocks for line in block.replace('\\\n', ' ').splitlines()]
    return [re.split(r'\s#', line, maxsplit=1)[0].strip() for line in lines if f'--endpoint-url http://127.0.0.1:{README_PORT}' in line]


def test_the_readme_commands_against_the_local_aws_work_without_any_aws_configuration(local_aws: str, tmp_path: Path) -> None:
    # Given the local AWS with the template's tables and the local service configuration, in the local stack's region
    seed(local_aws, REGION, min_sample=1)
    commands = readme_commands()
    assert any(' aws ' in f' {c}' for c in commands) and any('infrastructure.kpi_report' in c for c in commands), commands
    if shutil.which('aws') is None:
        commands = [c for c in commands if ' aws ' not in f' {c}']  # the AWS CLI is not a dependency of the project
    for command in commands:
        # When the command runs as the README writes it (its port moved to this test's server), in a shell with no AWS
        # configuration
        line = command.replace(f'127.0.0.1:{README_PORT}', local_aws.removeprefix('http://')).replace('.venv/bin/python', sys.executable)
        done = subprocess.run(['bash', '-c', line], cwd=ROOT, env=unconfigured_env(tmp_path), capture_output=True, text=True,
                              timeout=120)
        # Then it answers, from the local AWS
        assert done.returncode == 0, f'{command}\n{done.stderr[-2000:]}'
        answer = json.loads(done.stdout)
        if 'infrastructure.kpi_report' in command:  # And the KPI report read the local configuration (3 replies are enough)
            assert answer['kpis']['first_response_time']['significant'] is True
        else:
            assert 'Items' in answer


def test_kpi_report_reads_table_and_configuration_in_the_region_it_is_given(local_aws: str, tmp_path: Path) -> None:
    # Given a table and a service configuration that exist only in eu-west-1 (the configuration judges 3 replies enough)
    seed(local_aws, 'eu-west-1', min_sample=3)
    command = [sys.executable, '-m', 'infrastructure.kpi_report', '--scope', 'location#US-NYC', '--month', '2026-10',
               '--endpoint-url', local_aws, '--config-parameter', SERVICE_CONFIG_PARAMETER]
    # When the report is read with --region eu-west-1, on a machine with no AWS configuration
    done = subprocess.run([*command, '--region', 'eu-west-1'], cwd=ROOT, env=unconfigured_env(tmp_path), capture_output=True,
                          text=True, timeout=120)
    # Then the table and the parameter were both read there: 3 first replies, 3.3 min on average, significant
    assert done.returncode == 0, done.stderr[-2000:]
    frt = json.loads(done.stdout)['kpis']['first_response_time']
    assert (frt['count'], frt['value'], frt['significant']) == (3, 3.33, True)
    # And in another region, where no configuration exists, the tool says which parameter and region it missed
    missing = subprocess.run([*command, '--region', 'eu-central-1'], cwd=ROOT, env=unconfigured_env(tmp_path), capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2 and f'no parameter {SERVICE_CONFIG_PARAMETER} in eu-central-1' in missing.stderr
