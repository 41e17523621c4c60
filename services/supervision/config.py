"""Settings of the supervision service (env prefix SORTLINE_SUPERVISION_).

Deadlines are counted in working days (the kernel's calendar): a rectification order's deadline
by the finding's severity, and the number of working days an order may stay overdue before it is
escalated (督办) to the next level.
"""

from pydantic_settings import SettingsConfigDict

from services.common.config import CommonSettings, data_dir


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_SUPERVISION_", extra="ignore")

    # working days to fix a finding, by severity (一般 / 较重 / 严重)
    deadline_days_minor: int = 10
    deadline_days_major: int = 5
    deadline_days_severe: int = 3
    # working days overdue before an order is escalated (督办)
    escalate_after_workdays: int = 3
    # daily schedules (Asia/Shanghai wall time of the kernel runner)
    reminders_at: str = "08:30"
    # photos: the tablet scales to 2,560 px JPEG; 20 MB leaves room for an unscaled original
    max_photo_size: int = 20 * 1024 * 1024
    thumbnail_px: int = 320
    # file storage for photos, reports and circulars (``make_storage`` URL); local by default
    storage_url: str = ""
    # 通报 defaults (GB/T 9704-2012 masthead and number prefix)
    circular_issuer: str = "南昌市生活垃圾分类工作领导小组办公室"
    circular_prefix: str = "洪分类办"
    # run background jobs in a thread of this process (off in tests: they call run_pending)
    run_jobs: bool = True

    def service_name(self) -> str:
        return "supervision"

    def file_storage_url(self) -> str:
        return self.storage_url or str(data_dir() / "supervision-files")

    def deadline_days(self, severity: str) -> int:
        return {
            "minor": self.deadline_days_minor,
            "major": self.deadline_days_major,
            "severe": self.deadline_days_severe,
        }[severity]
