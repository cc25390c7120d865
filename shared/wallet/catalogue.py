"""A program's reward catalogue as data: the JSON document an admin edits in SSM Parameter Store, validated by pydantic.

One String parameter per program (`<CATALOGUES_PATH>/<program_id>`); the parameter's version is the catalogue's
version. A version that does not validate is never used (`shared.wallet.catalogue_loader` keeps the last valid version
running and counts `CatalogueRejected`); its errors name the field and the reason, e.g.
`items.2.price_points: Input should be greater than or equal to 1`.

Where an item is offered: `locations` (location ids of the service configuration) and `cities` (city names; a location's
city is the catalogue's `location_cities`). Both empty: everywhere. Otherwise the person's location must be listed, or
its city must be.

Per-person limits: `per_person_limit` units of the item per `limit_period` (`month`: the calendar month in the
program's time zone, counted again from the 1st; `lifetime`: ever). None: no limit. A refunded redemption gives its
units back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.programs.document import PROGRAM_ID

ITEM_ID = r'^[a-z0-9][a-z0-9_\-]{0,63}$'


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')


class ItemKind(StrEnum):
    VOUCHER = 'voucher'
    FUEL_CARD = 'fuel_card'
    SERVICE_DISCOUNT = 'service_discount'
    EXTRA_LEAVE = 'extra_leave'
    DONATION = 'donation'
    CASH = 'cash'


class CatalogueItem(_Model):
    item_id: str = Field(pattern=ITEM_ID)
    name: str = Field(min_length=1, max_length=120)
    kind: ItemKind
    description: str = Field(default='', max_length=500)
    price_points: int = Field(ge=1, le=10_000_000)
    stock: int | None = Field(default=None, ge=0, description='units that can ever be issued; None: unlimited')
    per_person_limit: int | None = Field(default=None, ge=1, description='units per person per limit_period; None: no limit')
    limit_period: Literal['month', 'lifetime'] = 'month'
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    locations: list[str] = Field(default_factory=list, description='location ids where it is offered (empty: see cities)')
    cities: list[str] = Field(default_factory=list, description='cities where it is offered (empty: see locations)')
    provider: str = Field(default='manual', pattern=r'^[a-z][a-z0-9_]{0,31}$',
                          description="who fulfils it: 'manual' (an admin), 'fake' (the local fake) or a registered provider")
    same_day: bool = Field(default=False, description='fulfilled at once by the provider (vouchers): no admin step')
    active: bool = True

    @model_validator(mode='after')
    def _consistent(self) -> CatalogueItem:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError(f'valid_until: must be after valid_from ({self.valid_from.isoformat()})')
        if self.same_day and self.provider == 'manual':
            raise ValueError("same_day: needs a provider (an admin fulfils 'manual' items)")
        return self

    def offered_at(self, location_id: str | None, city: str | None) -> bool:
        if not self.locations and not self.cities:
            return True
        return (location_id is not None and location_id in self.locations) or (city is not None and city in self.cities)

    def valid_at(self, at: datetime) -> str | None:
        """None when it can be redeemed at `at`; else why not."""
        if self.valid_from is not None and at < self.valid_from:
            return f'not valid before {self.valid_from.isoformat()}'
        if self.valid_until is not None and at >= self.valid_until:
            return f'expired on {self.valid_until.isoformat()}'
        return None


class CatalogueDocument(_Model):
    program_id: str = Field(pattern=PROGRAM_ID)
    name: str = Field(default='', max_length=200)
    location_cities: dict[str, str] = Field(default_factory=dict, description='location id -> city')
    items: list[CatalogueItem] = Field(default_factory=list, max_length=1000)

    @model_validator(mode='after')
    def _unique(self) -> CatalogueDocument:
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if item.item_id in seen:
                raise ValueError(f'items.{index}.item_id: {item.item_id!r} appears twice')
            seen.add(item.item_id)
        return self

    def item(self, item_id: str) -> CatalogueItem | None:
        return next((item for item in self.items if item.item_id == item_id), None)

    def city_of(self, location_id: str | None) -> str | None:
        return self.location_cities.get(location_id or '')

    def offered(self, location_id: str | None, at: datetime) -> list[CatalogueItem]:
        """What a person at `location_id` can redeem at `at` (active, valid, offered there)."""
        city = self.city_of(location_id)
        return [item for item in self.items if item.active and item.valid_at(at) is None and item.offered_at(location_id, city)]


class CatalogueInvalid(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__('; '.join(errors))
        self.errors = errors


def _error(loc: tuple[int | str, ...], message: str) -> str:
    """`<field path>: <reason>`; a validator's own `<field>: <reason>` is joined onto where it ran."""
    message = message.removeprefix('Value error, ')
    path = [str(part) for part in loc]
    field, sep, reason = message.partition(': ')
    if sep and re.fullmatch(r'[a-z_][\w.]*', field):
        path.append(field)
        message = reason
    return f'{".".join(path) or "(document)"}: {message}'


def parse_catalogue(raw: str | bytes, allowed_providers: frozenset[str] | None = None) -> CatalogueDocument:
    """Validate a catalogue version; CatalogueInvalid lists each error as `<field path>: <reason>`."""
    try:
        document = CatalogueDocument.model_validate(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise CatalogueInvalid([f'(document): not JSON ({exc.msg} at line {exc.lineno})']) from exc
    except ValidationError as exc:
        raise CatalogueInvalid([_error(error['loc'], error['msg']) for error in exc.errors()]) from exc
    if allowed_providers is not None:
        unknown = [f'items.{i}.provider: unknown provider {item.provider!r} (known: {", ".join(sorted(allowed_providers))})'
                   for i, item in enumerate(document.items) if item.provider not in allowed_providers]  # fmt: skip
        if unknown:
            raise CatalogueInvalid(unknown)
    return document
