"""Import every table so that Base.metadata is complete (Alembic, create_all in benches)."""

from models import agencies, complaints, inbound, mo_parts, outbox, regions, reporters  # noqa: F401
from models.base import Base

metadata = Base.metadata
