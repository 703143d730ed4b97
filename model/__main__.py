"""`python -m model train [--model hgb|forest] [--output-dir DIR]`: train and write the artifact."""

from __future__ import annotations

import sys

from pydantic_settings import CliApp

from common.logs import configure_logging
from model.exceptions import ModelError
from model.settings import TrainSettings
from model.train_job import run_training

USAGE = "usage: python -m model train [--help] [options]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "train":
        print(USAGE, file=sys.stderr)
        return 2
    configure_logging()
    settings = CliApp.run(TrainSettings, cli_args=args[1:])
    try:
        metadata = run_training(settings)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    metrics = metadata["metrics"]
    print(
        f"trained {metadata['model_version']}: MSE={metrics['mse']:.1f} MAE={metrics['mae']:.1f} "
        f"R2={metrics['r2']:.4f} -> {settings.output_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
