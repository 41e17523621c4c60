"""Settings of the assessment service (env prefix SORTLINE_ASSESSMENT_)."""

from pydantic_settings import SettingsConfigDict

from services.common.config import CommonSettings, data_dir

MIB = 1024 * 1024


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_ASSESSMENT_", extra="ignore")

    # Where evidence files and archives live (``make_storage`` URL); every replica must reach it.
    storage_url: str = ""
    # A quarter's tasks are due on this day of the quarter's last month unless set per item or task.
    due_day: int = 25
    # Evidence upload limits (per file; files per submission).
    max_file_size: int = 50 * MIB
    max_files: int = 10
    # Reminders: working days before the due date, the time of the daily run, escalation threshold.
    remind_before: tuple[int, ...] = (7, 3, 1)
    remind_at: str = "08:30"
    escalate_after_workdays: int = 3
    # Member-unit ranking (成员单位考核): weights of the quantitative and qualitative parts (sum 1).
    weight_on_time: float = 0.3
    weight_first_pass: float = 0.2
    weight_overdue: float = 0.1
    weight_rectification: float = 0.1
    weight_qualitative: float = 0.3
    # Overdue working days that take the whole overdue part away.
    overdue_days_cap: int = 20
    # Run the job runner (reminders, archives) inside the service process.
    run_jobs: bool = True

    def service_name(self) -> str:
        return "assessment"

    def file_storage_url(self) -> str:
        """``storage_url``, or local storage under ``<data dir>/assessment-files`` when it is not set."""
        return self.storage_url or str(data_dir() / "assessment-files")
