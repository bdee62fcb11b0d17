"""Statistics and the quarterly agency performance report, as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from models.base import utcnow
from models.stats import WIB

from web_support import Api, file, set_fields


def _quarter() -> tuple[int, int]:
    today = utcnow().astimezone(WIB)
    return today.year, (today.month - 1) // 3 + 1


def test_statistics_per_status_sector_region_and_overdue(api: Api) -> None:
    late = file("jalan rusak", agency="PUPR.32.73", sector="PEKERJAAN_UMUM", region="32.73")
    set_fields(late, followup_due_at=utcnow() - timedelta(hours=1))
    file("jembatan putus", agency="PUPR.32.73", sector="PEKERJAAN_UMUM", region="32.73")
    file("ktp", agency="DUKCAPIL.11.01", sector="KEPENDUDUKAN", region="11.01")
    stats = api.get("/api/stats").json
    assert stats["total"] == 3
    assert stats["by_status"] == {"assigned": 3}
    assert stats["by_sector"] == {"PEKERJAAN_UMUM": 2, "KEPENDUDUKAN": 1}
    assert stats["by_region"][0] == {
        "region_code": "32.73",
        "region_name": "Kota Bandung",
        "count": 2,
    }
    assert stats["overdue"] == {"total": 1, "by_sector": {"PEKERJAAN_UMUM": 1}}
    assert api.get("/api/stats", since="yesterday").status_code == 400
    assert api.get("/api/stats", since="0001-01-01T00:00:00+01:00").status_code == 400


def test_agency_performance_report_as_json_and_csv(api: Api) -> None:
    now = utcnow()
    due = now + timedelta(days=5)
    on_time = file("jalan rusak", agency="PUPR.32.73", sector="PEKERJAAN_UMUM", rating=5)
    set_fields(on_time, status="closed", followup_due_at=due, done_at=now)
    finished_late = file("drainase", agency="PUPR.32.73", sector="PEKERJAAN_UMUM", rating=2)
    set_fields(finished_late, status="done", followup_due_at=now - timedelta(days=2), done_at=now)
    file("lampu jalan", agency="PUPR.32.73", sector="PEKERJAAN_UMUM")
    year, quarter = _quarter()
    report = api.get("/api/reports/agency-performance", year=year, quarter=quarter).json
    assert report["agencies"] == [
        {
            "agency_code": "PUPR.32.73",
            "agency_name": report["agencies"][0]["agency_name"],
            "region_code": "32.73",
            "received": 3,
            "followed_up_in_time": 1,
            "overdue": 1,
            "forwarded": 0,
            "average_rating": 3.5,
        }
    ]
    resp = api.get("/api/reports/agency-performance", format="csv")
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0]["agency_code"] == "PUPR.32.73" and rows[0]["average_rating"] == "3.5"
    other_year = api.get("/api/reports/agency-performance", year=year - 1, quarter=quarter)
    assert other_year.json["agencies"] == []
    assert api.get("/api/reports/agency-performance", quarter=5).status_code == 400
