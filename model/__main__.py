"""`python -m model train [--model hgb|forest] [--output-dir DIR]`: train and write the artifact
(and register it as champion); `python -m model registry ...`: the model registry
(`model.registry_cli`)."""

from __future__ import annotations

import sys

from pydantic_settings import CliApp

from common.logs import configure_logging
from model.exceptions import ModelError
from model.settings import TrainSettings
from model.train_job import run_training

USAGE = "usage: python -m model train|registry [--help] [options]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "registry":
        configure_logging()
        from model.registry_cli import main as registry_main  # Kafka client: only when asked

        return registry_main(args[1:])
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
    if "registry_version" in metadata:
        print(f"registered {metadata['registry_version']} as champion in {settings.registry_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
