from celery import shared_task

from .services import import_run


@shared_task(max_retries=0)
def inventory_import_run(job_id: int) -> None:
    import_run(job_id)


@shared_task(max_retries=0)
def sbom_import_run(job_id: int) -> None:
    from .sbom import sbom_job_run

    sbom_job_run(job_id)
