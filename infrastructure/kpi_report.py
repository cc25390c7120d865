"""Read one scope's month of KPIs (counts, ratios, significance, service levels) as JSON.

The same read path a later authenticated API will expose (shared/kpi/report.py: one DynamoDB Query).
Against the local stack:   python -m infrastructure.kpi_report --scope location#US-NYC --month 2026-10 \\
                               --endpoint-url http://127.0.0.1:5001 --table pitcrew-kpi
Against a deployed stack:  python -m infrastructure.kpi_report --scope employee#E1 --month 2026-10 \\
                               --table <KpiTableName output> --config-parameter /pitcrew/prod/service-config
Scopes: all, location#<id>, region#<id>, team#<manager id>, employee#<employee id>.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scope', required=True, help='all | location#<id> | region#<id> | team#<id> | employee#<id>')
    parser.add_argument('--month', required=True, help='YYYY-MM')
    parser.add_argument('--table', default=os.environ.get('KPI_TABLE', 'pitcrew-kpi'), help='the KpiTableName stack output')
    parser.add_argument(
        '--config-parameter',
        default=os.environ.get('SERVICE_CONFIG_PARAMETER', ''),
        help='SSM parameter of the service configuration (for the KPI settings); empty: defaults',
    )
    parser.add_argument('--endpoint-url', default=None, help='a local AWS (the local stack serves one on :5001)')
    parser.add_argument('--region', default=os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1')
    args = parser.parse_args(argv)
    if not re.fullmatch(r'\d{4}-(0[1-9]|1[0-2])', args.month):
        parser.error('--month: expected YYYY-MM')
    if not re.fullmatch(r'all|(location|region|team|employee)#.+', args.scope):
        parser.error('--scope: expected all, location#<id>, region#<id>, team#<id> or employee#<id>')
    if args.endpoint_url:
        os.environ.setdefault('AWS_ACCESS_KEY_ID', 'local')
        os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'local')
        os.environ['AWS_ENDPOINT_URL'] = args.endpoint_url
    os.environ['AWS_REGION'] = args.region
    os.environ['KPI_TABLE'] = args.table
    os.environ['SERVICE_CONFIG_PARAMETER'] = args.config_parameter

    import boto3

    from shared.config import get_settings
    from shared.kpi.report import read_month
    from shared.kpi.store import KpiStore
    from shared.sla.config import load_config

    get_settings.cache_clear()
    client = boto3.client('dynamodb', region_name=args.region, endpoint_url=args.endpoint_url)
    report = read_month(KpiStore(args.table, client=client), args.scope, args.month, load_config().kpi)
    json.dump(report.as_dict(), sys.stdout, indent=2, default=str)
    print()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
