package steward.connect.s3;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collection;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * One record as one line of JSON: topic, partition, offset, timestamp, key, value and headers.
 * Strings stay strings, bytes are read as UTF-8 text when they are (base64 otherwise), maps,
 * lists and structs become objects and arrays.
 */
final class JsonLines {
    private JsonLines() {}

    static byte[] line(SinkRecord record) {
        StringBuilder out = new StringBuilder(256);
        out.append("{\"topic\":");
        string(out, record.topic());
        out.append(",\"partition\":").append(record.kafkaPartition());
        out.append(",\"offset\":").append(record.kafkaOffset());
        out.append(",\"timestamp\":").append(record.timestamp() == null ? "null" : record.timestamp());
        out.append(",\"key\":");
        value(out, record.key());
        out.append(",\"value\":");
        value(out, record.value());
        if (!record.headers().isEmpty()) {
            out.append(",\"headers\":{");
            boolean first = true;
            for (Header header : record.headers()) {
                if (!first) out.append(',');
                first = false;
                string(out, header.key());
                out.append(':');
                value(out, header.value());
            }
            out.append('}');
        }
        out.append("}\n");
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A key or value as one column's text: strings as they are, bytes as UTF-8 (base64 when
     * they are not text), anything else as its JSON; null stays null. */
    static String text(Object value) {
        if (value == null) return null;
        if (value instanceof String s) return s;
        if (value instanceof byte[] bytes) return text(bytes);
        if (value instanceof java.nio.ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            return text(bytes);
        }
        StringBuilder out = new StringBuilder();
        value(out, value);
        return out.toString();
    }

    static void appendJson(StringBuilder out, Object value) {
        value(out, value);
    }

    private static void value(StringBuilder out, Object value) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String s) {
            string(out, s);
        } else if (value instanceof byte[] bytes) {
            string(out, text(bytes));
        } else if (value instanceof java.nio.ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            string(out, text(bytes));
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!first) out.append(',');
                first = false;
                string(out, String.valueOf(entry.getKey()));
                out.append(':');
                value(out, entry.getValue());
            }
            out.append('}');
        } else if (value instanceof Collection<?> list) {
            out.append('[');
            boolean first = true;
            for (Object item : list) {
                if (!first) out.append(',');
                first = false;
                value(out, item);
            }
            out.append(']');
        } else if (value instanceof Struct struct) {
            out.append('{');
            boolean first = true;
            for (Field field : struct.schema().fields()) {
                if (!first) out.append(',');
                first = false;
                string(out, field.name());
                out.append(':');
                value(out, struct.get(field));
            }
            out.append('}');
        } else {
            string(out, value.toString());
        }
    }

    private static String text(byte[] bytes) {
        var decoder = StandardCharsets.UTF_8.newDecoder();
        try {
            return decoder.decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return Base64.getEncoder().encodeToString(bytes);
        }
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
