from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "processes"

    def ready(self) -> None:
        # With a broker, jobs with a registered handler are enqueued on commit (processes.tasks).
        from processes.tasks import install_dispatch

        install_dispatch()
