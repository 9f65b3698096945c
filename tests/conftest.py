"""Shared test settings: keep every test offline and quiet the OpenMP spin that starves 2-core machines."""

import os

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
