"""Pools and allocation: ranges that are never materialised, random free numbers."""

from __future__ import annotations

from datetime import datetime

from numbering.agreements import get_agreement, issuable_pools, seoul_today
from numbering.allocation import ROUNDS, Span, Spans, kth_free, shuffled
from numbering.errors import InvalidValue, PoolExhausted, PoolOverlap
from numbering.models import NumberRecord, NumberStatus, Pool
from numbering.service_base import ServiceBase, parse_prefix, parse_subscriber
from numbering.types import SafeNumber
from numbering.views import PoolView


class PoolOps(ServiceBase):
    def add_pool(
        self, prefix: str, range_from: str, range_to: str, agreement_id: int | None = None
    ) -> PoolView:
        prefix = parse_prefix(prefix)
        if agreement_id is not None:
            get_agreement(self.repo, agreement_id)
        start = parse_subscriber(range_from, "from")
        end = parse_subscriber(range_to, "to")
        if start > end:
            raise InvalidValue("'from' must not be greater than 'to'", field="from")
        clash = self.repo.overlapping_pool(prefix, start, end)
        if clash is not None:
            raise PoolOverlap(
                f"range overlaps pool {clash.id} ({prefix} "
                f"{clash.range_start:08d}-{clash.range_end:08d})",
                field="from",
            )
        pool = Pool(
            prefix=prefix,
            range_start=start,
            range_end=end,
            created_at=self.clock(),
            agreement_id=agreement_id,
        )
        self.repo.add(pool)
        self.repo.audit(
            self.clock(),
            self.actor,
            "pool.added",
            f"pool:{pool.id}",
            {
                "prefix": prefix,
                "range_from": f"{start:08d}",
                "range_to": f"{end:08d}",
                "agreement": agreement_id,
            },
        )
        return self._pool_view(pool)

    def list_pools(self) -> list[PoolView]:
        return [self._pool_view(p) for p in self.repo.pools()]

    def _pool_view(self, pool: Pool) -> PoolView:
        used = self.repo.used_in(_span(pool))
        return PoolView(
            pool.id,
            pool.prefix,
            f"{pool.range_start:08d}",
            f"{pool.range_end:08d}",
            pool.size,
            used,
            pool.agreement_id,
        )

    def _claim(
        self, prefix: str | None, owner_id: str, vehicle_id: int, now: datetime
    ) -> NumberRecord:
        pools = self.repo.pools(prefix)
        if not pools:
            where = f"prefix {prefix}" if prefix else "any prefix"
            raise PoolExhausted(f"no number pool for {where}", field="prefix")
        spans = Spans([_span(p) for p in issuable_pools(self.repo, pools, seoul_today(now))])

        # Whole seconds: Asterisk stamps a call with its EPOCH (seconds), and a call in
        # the second the number was issued belongs to its new holder.
        issued = now.replace(microsecond=0)

        def record(span: Span, number: SafeNumber) -> NumberRecord:
            return NumberRecord(
                number=number.digits,
                pool_id=span.pool_id,
                status=NumberStatus.ACTIVE,
                owner_id=owner_id,
                vehicle_id=vehicle_id,
                issued_at=issued,
                expires_at=issued + self.policy.term,
                updated_at=now,
            )

        for _ in range(ROUNDS):
            batch = spans.sample(self.rng)
            taken = self.repo.taken([n.digits for _, n in batch])
            for span, number in batch:
                if number.digits not in taken:
                    claimed = record(span, number)
                    if self.repo.try_insert(claimed):
                        return claimed
            if len(batch) == spans.total and len(taken) == spans.total:
                break  # the whole pool was in the batch: exhausted
        # Nearly full: walk the used numbers of each span to find a free one exactly.
        for span in shuffled(spans.spans, self.rng):
            free = span.size - self.repo.used_in(span)
            while free > 0:
                found = kth_free(span, self.repo.used_sorted(span), self.rng.randrange(free))
                if found is not None:
                    claimed = record(span, found)
                    if self.repo.try_insert(claimed):
                        return claimed
                free = span.size - self.repo.used_in(span)
        where = f"prefix {prefix}" if prefix else "every pool"
        raise PoolExhausted(f"no free number left in {where}", field="prefix")


def _span(pool: Pool) -> Span:
    return Span(pool.id, pool.prefix, pool.range_start, pool.range_end)
