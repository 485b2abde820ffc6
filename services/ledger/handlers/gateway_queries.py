"""The ledger answers the exchange-gateway: which instruments it holds open on a venue. The
gateway marks those besides the venue's own holdings, so a position the venue no longer holds (a
ghost: transferred out) still gets a mark and is valued."""

from __future__ import annotations

from services.ledger.adapters import queries
from shared.chassis import Service
from shared.contracts.channels import LEDGER_OPEN_INSTRUMENTS
from shared.contracts.ledger import OpenInstrumentsReply, OpenInstrumentsRequest


def answer_gateway(service: Service) -> None:
    """Register the responder to the gateway; call before the service starts."""

    async def open_instruments(request: OpenInstrumentsRequest) -> OpenInstrumentsReply:
        assert service.pool is not None, "the ledger owns a schema: its pool opens at start"
        return OpenInstrumentsReply(instrument_ids=tuple(await queries.open_instruments(service.pool, request.venue)))

    service.bus.respond(LEDGER_OPEN_INSTRUMENTS.subject(), open_instruments)
