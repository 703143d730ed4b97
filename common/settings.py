"""The pydantic-settings configuration every entry point's settings object shares.

One frozen object per entry point (`python -m consumer`, `producer`, `demo`, `bench`, `model
train`): each field is a kebab-case flag and an environment variable `<PREFIX><FIELD>` (flags
win), and the `--help` usage line names the command. Only the prefix, the command and whether
booleans are bare flags (`--labels` / `--no-labels`) differ between them.
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict


def cli_settings_config(
    *, env_prefix: str, prog_name: str, implicit_flags: bool = False
) -> SettingsConfigDict:
    """The `model_config` of an entry point's settings: frozen, read from `env_prefix`
    variables and kebab-case flags of `prog_name`; `implicit_flags` makes booleans bare flags
    with a negation (otherwise `--flag true|false`)."""
    return SettingsConfigDict(
        env_prefix=env_prefix,
        frozen=True,
        cli_kebab_case=True,
        cli_implicit_flags=implicit_flags,
        cli_prog_name=prog_name,
    )
