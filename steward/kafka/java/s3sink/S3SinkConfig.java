package steward.connect.s3;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/** The sink's settings: where objects go, how they are cut and written. */
public class S3SinkConfig extends AbstractConfig {
    public static final String VERSION = "1.0.0";

    public static final String BUCKET = "s3.bucket.name";
    public static final String PREFIX = "s3.prefix";
    public static final String REGION = "s3.region";
    public static final String ENDPOINT = "s3.endpoint";
    public static final String PATH_STYLE = "s3.path.style.access";
    public static final String ACCESS_KEY = "aws.access.key.id";
    public static final String SECRET_KEY = "aws.secret.access.key";
    public static final String FORMAT = "format.output.type";
    public static final String FLUSH_SIZE = "flush.size";
    public static final String MAX_BYTES = "file.max.bytes";
    public static final String ROTATE_INTERVAL = "rotate.interval.ms";

    public static final ConfigDef DEFINITION = new ConfigDef()
            .define(BUCKET, Type.STRING, Importance.HIGH, "The bucket objects are written to.")
            .define(PREFIX, Type.STRING, "", Importance.MEDIUM, "A prefix of every object key.")
            .define(REGION, Type.STRING, "us-east-1", Importance.MEDIUM, "The bucket's region.")
            .define(ENDPOINT, Type.STRING, "", Importance.MEDIUM,
                    "The S3 endpoint URL; empty for AWS's own.")
            .define(PATH_STYLE, Type.BOOLEAN, true, Importance.LOW,
                    "Address buckets in the path, as most S3-compatible stores need.")
            .define(ACCESS_KEY, Type.STRING, "", Importance.MEDIUM,
                    "An access key id; empty for the SDK's default credentials.")
            .define(SECRET_KEY, Type.PASSWORD, "", Importance.MEDIUM, "Its secret key.")
            .define(FORMAT, Type.STRING, "jsonl", ConfigDef.ValidString.in("jsonl", "parquet"),
                    Importance.MEDIUM, "The object format: JSON lines or Parquet.")
            .define(FLUSH_SIZE, Type.INT, 1000, ConfigDef.Range.atLeast(1), Importance.MEDIUM,
                    "Records per object at most.")
            .define(MAX_BYTES, Type.LONG, 64L * 1024 * 1024, ConfigDef.Range.atLeast(1),
                    Importance.MEDIUM, "Bytes per object at most (an object holds one record "
                            + "at least).")
            .define(ROTATE_INTERVAL, Type.LONG, 60_000L, ConfigDef.Range.atLeast(1),
                    Importance.MEDIUM,
                    "Milliseconds an open object may wait for more records before it is written.");

    public S3SinkConfig(Map<String, String> props) {
        super(DEFINITION, props);
    }
}
