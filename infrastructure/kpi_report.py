"""Read one scope's month of KPIs (counts, ratios, significance, service levels) as JSON.

The same read path a later authenticated API will expose (shared/kpi/report.py: one DynamoDB Query).
Against the local stack:   python -m infrastructure.kpi_report --scope location#US-NYC --month 2026-10 --region us-east-1 \\
                               --endpoint-url http://127.0.0.1:5001 --table pitcrew-kpi --config-parameter /pitcrew/local/service-config
Against a deployed stack:  python -m infrastructure.kpi_report --scope employee#E1 --month 2026-10 \\
                               --table <KpiTableName output> --config-parameter /pitcrew/prod/service-config
`--region` (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1) is the region of every client, the table's and the
parameter's; with `--endpoint-url` and no credentials in the environment, dummy ones are used (a local AWS ignores them).
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
        help='SSM parameter of the service configuration (the KPI settings, and which locations make a region); empty: defaults',
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
    # Every client this process makes, ours and the libraries' (botocore reads AWS_DEFAULT_REGION, not AWS_REGION)
    os.environ['AWS_REGION'] = os.environ['AWS_DEFAULT_REGION'] = args.region
    os.environ['KPI_TABLE'] = args.table

    import boto3
    from pydantic import ValidationError

    from shared.kpi.report import read_month
    from shared.kpi.store import KpiStore
    from shared.sla.config import DEFAULT_CONFIG, parse_config

    config = DEFAULT_CONFIG
    if args.config_parameter:  # read here, with the tool's region and endpoint, and refused loudly if it does not validate
        ssm = boto3.client('ssm', region_name=args.region, endpoint_url=args.endpoint_url)
        try:
            text = ssm.get_parameter(Name=args.config_parameter, WithDecryption=True)['Parameter']['Value']
            config = parse_config(text)
        except ssm.exceptions.ParameterNotFound:
            parser.error(f'--config-parameter: no parameter {args.config_parameter} in {args.region}')
        except ValidationError as error:  # field and reason, not the values
            reasons = '; '.join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
            parser.error(f'--config-parameter: {args.config_parameter} is not a valid service configuration ({reasons})')
        except ValueError:
            parser.error(f'--config-parameter: {args.config_parameter} is not JSON')
    client = boto3.client('dynamodb', region_name=args.region, endpoint_url=args.endpoint_url)
    # a region's month: its locations' days, the locations as this configuration places them (as the aggregator did)
    report = read_month(KpiStore(args.table, client=client), args.scope, args.month, config.kpi,
                        lambda region: [location.location_id for location in config.locations if location.region == region])  # fmt: skip
    json.dump(report.as_dict(), sys.stdout, indent=2, default=str)
    print()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
