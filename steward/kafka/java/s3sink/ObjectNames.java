package steward.connect.s3;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Object keys: {prefix}{topic}/partition={p}/dt=YYYY-MM-DD/hour=HH/{topic}+{p}+{first}+{last}.jsonl.
 * The date and hour are the first record's timestamp, so the same span of offsets always gets
 * the same key; the offsets are zero-padded so that keys sort by offset.
 */
final class ObjectNames {
    private static final DateTimeFormatter DAY =
            DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter HOUR =
            DateTimeFormatter.ofPattern("HH").withZone(ZoneOffset.UTC);
    private static final Pattern SPAN = Pattern.compile(".*\\+(\\d{20})\\+(\\d{20})\\.[a-z]+$");

    private ObjectNames() {}

    static String partitionPrefix(String prefix, String topic, int partition) {
        return prefix + topic + "/partition=" + partition + "/";
    }

    static String key(String prefix, String topic, int partition, long timestamp, long first,
            long last, String extension) {
        Instant at = Instant.ofEpochMilli(Math.max(timestamp, 0));
        return partitionPrefix(prefix, topic, partition) + "dt=" + DAY.format(at) + "/hour="
                + HOUR.format(at) + "/" + topic + "+" + partition + "+"
                + String.format("%020d", first) + "+" + String.format("%020d", last) + "."
                + extension;
    }

    /** The last offset an object of this sink holds, or -1 when the key is not one of its. */
    static long lastOffset(String key) {
        Matcher m = SPAN.matcher(key);
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }
}
