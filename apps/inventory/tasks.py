from celery import shared_task

from .services import import_run


@shared_task(max_retries=0)
def inventory_import_run(job_id: int) -> None:
    import_run(job_id)
