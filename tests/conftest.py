"""Shared test settings: keep every test offline and quiet the OpenMP spin that starves 2-core machines."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _isolated_data_home() -> None:
    """Point ``MCPLOOM_HOME`` at a fresh folder so tests never touch a user's threads or traces.

    Its ``models`` entry links to the real models folder, so the default model is not assembled again.
    """
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from mcploom.local_models.catalog import models_dir

    real_models = models_dir()
    real_models.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="mcploom-test-home-"))
    (home / "models").symlink_to(real_models, target_is_directory=True)
    os.environ["MCPLOOM_HOME"] = str(home)
    atexit.register(shutil.rmtree, home, ignore_errors=True)


_isolated_data_home()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):
    """A Postgres URL: ``MCPLOOM_TEST_POSTGRES_URL``, else a throwaway pgserver instance."""
    if url := os.environ.get("MCPLOOM_TEST_POSTGRES_URL"):
        yield url
        return
    pytest.importorskip("langgraph.checkpoint.postgres.aio", reason='needs pip install "mcploom[postgres]"')
    pgserver = pytest.importorskip(
        "pgserver", reason="no Postgres: set MCPLOOM_TEST_POSTGRES_URL or pip install pgserver (dev extra)"
    )
    with pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete") as server:
        yield server.get_uri()
