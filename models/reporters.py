"""Reporters: the citizens behind the numbers, stored once in E.164."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Reporter(Base):
    __tablename__ = "reporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(64), unique=True)  # E.164, or a token once erased
    masked: Mapped[str] = mapped_column(String(20))  # 628113643xxxx: safe for logs and agencies
    blocked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
