"""What every command gets from the `steward` group: the output format and the API to call."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from steward.client.api import Api, default_region
from steward.client.output import Output


@dataclass
class CliContext:
    output: Output
    endpoint_url: str
    region: str = field(default_factory=default_region)
    _api: Api | None = None

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.endpoint_url, self.region)
        return self._api


pass_cli = click.make_pass_decorator(CliContext)

OUTPUT_FORMATS = click.Choice(["table", "json"])


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    cli = ctx.find_object(CliContext)
    if value is not None and cli is not None:
        cli.output = Output(value)


def output_option() -> click.Option:
    """`-o/--output` after a subcommand too (`steward cluster list -o json`)."""
    return click.Option(
        ["-o", "--output"],
        type=OUTPUT_FORMATS,
        expose_value=False,
        callback=_set_output,
        help="Same as `steward --output`.",
    )
