"""The message contracts: topic names and every record format on them, defined once.

Producer, consumer, demo, bench and tests import the names, bounds and encoders from here, so
that a writer and its readers cannot drift apart.

=================  ==============================================================================
module             holds
=================  ==============================================================================
`topics`           the default topic names (`TOPICS`) and Kafka's name length limit
`events`           the event: `EVENT_FIELDS`, size/id/time/numeric bounds, rejection `REASONS`,
                   `normalise_event_time` (the pydantic model is `model.schema.DiamondEvent`)
`predictions`      the prediction record: `PREDICTION_FIELDS`, `encode_prediction`, the batch
                   `prediction_template`
`dead_letters`     the dead-letter record: header names, size limits, `dead_letter` and the
                   `DeadLetterCause` it writes to the headers
`labels`           the label: `LABEL_FIELDS`, `Label`/`InvalidLabel`, `encode_label`/`decode_label`
`drift_reports`    the drift-report record: its field names, `drift_report_record`, the encoder
`models`           model announcements on the compacted models topic: `Announcement`, the codec
=================  ==============================================================================

Nothing here raises for a bad message: decoders return a value that says what is wrong
(`InvalidLabel`), and `normalise_event_time` raises the ValueError that validators expect. The
package depends on the standard library and orjson only.
"""

from common.contracts.dead_letters import (
    CONSUMER_GROUP_HEADER,
    DLQ_ERROR_MAX_CHARS,
    DLQ_MAX_VALUE_BYTES,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    ORIGINAL_SIZE_HEADER,
    REASON_HEADER,
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
    TRUNCATED_HEADER,
    DeadLetterCause,
    dead_letter,
)
from common.contracts.drift_reports import (
    CONCEPT_FIELDS,
    DATA_FIELDS,
    ESTIMATED_FIELDS,
    FLAG_FIELDS,
    LABEL_OUTCOMES,
    REPORT_FIELDS,
    TRANSITION_FIELDS,
    TRANSITION_KINDS,
    drift_report_record,
    encode_drift_report,
)
from common.contracts.events import (
    EVENT_FIELDS,
    MAX_EVENT_BYTES,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TIME_MS,
    MIN_EVENT_TIME_MS,
    NUMERIC_BOUNDS,
    REASONS,
    normalise_event_time,
)
from common.contracts.labels import (
    LABEL_FIELDS,
    MAX_LABEL_BYTES,
    InvalidLabel,
    Label,
    decode_label,
    encode_label,
)
from common.contracts.models import (
    ALIASES,
    ANNOUNCEMENT_FIELDS,
    MODELS_TOPIC,
    MODELS_TOPIC_CONFIG,
    Announcement,
    InvalidAnnouncement,
    Withdrawal,
    decode_announcement,
    encode_announcement,
)
from common.contracts.predictions import (
    PREDICTION_FIELDS,
    encode_prediction,
    prediction_template,
)
from common.contracts.topics import (
    DLQ_TOPIC,
    DRIFT_REPORTS_TOPIC,
    EVENTS_TOPIC,
    LABELS_TOPIC,
    MAX_TOPIC_NAME_LENGTH,
    PREDICTIONS_TOPIC,
    TOPICS,
)

__all__ = [
    "ALIASES",
    "ANNOUNCEMENT_FIELDS",
    "MODELS_TOPIC",
    "MODELS_TOPIC_CONFIG",
    "Announcement",
    "InvalidAnnouncement",
    "Withdrawal",
    "decode_announcement",
    "encode_announcement",
    "CONCEPT_FIELDS",
    "CONSUMER_GROUP_HEADER",
    "DATA_FIELDS",
    "DLQ_ERROR_MAX_CHARS",
    "DLQ_MAX_VALUE_BYTES",
    "DLQ_TOPIC",
    "DRIFT_REPORTS_TOPIC",
    "ERROR_HEADER",
    "EVENTS_TOPIC",
    "ESTIMATED_FIELDS",
    "EVENT_FIELDS",
    "FAILED_AT_HEADER",
    "FLAG_FIELDS",
    "LABELS_TOPIC",
    "LABEL_FIELDS",
    "LABEL_OUTCOMES",
    "MAX_EVENT_BYTES",
    "MAX_EVENT_ID_LENGTH",
    "MAX_EVENT_TIME_MS",
    "MAX_LABEL_BYTES",
    "MAX_TOPIC_NAME_LENGTH",
    "MIN_EVENT_TIME_MS",
    "NUMERIC_BOUNDS",
    "ORIGINAL_SIZE_HEADER",
    "PREDICTIONS_TOPIC",
    "PREDICTION_FIELDS",
    "REASONS",
    "REASON_HEADER",
    "REPORT_FIELDS",
    "SOURCE_OFFSET_HEADER",
    "SOURCE_PARTITION_HEADER",
    "SOURCE_TOPIC_HEADER",
    "TRANSITION_FIELDS",
    "TRANSITION_KINDS",
    "TOPICS",
    "TRUNCATED_HEADER",
    "DeadLetterCause",
    "InvalidLabel",
    "Label",
    "dead_letter",
    "decode_label",
    "drift_report_record",
    "encode_drift_report",
    "encode_label",
    "encode_prediction",
    "normalise_event_time",
    "prediction_template",
]
