package steward.connect.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * One object's records as one Parquet file, written in memory and PUT whole like a JSON-lines
 * object. The columns are those of a JSON line: topic, partition, offset, timestamp
 * (milliseconds, UTC), key and value as text (strings as they are, bytes as UTF-8 or base64,
 * maps, lists and structs as JSON) and headers as a JSON object; Snappy-compressed.
 */
final class ParquetObjects {
    static final MessageType SCHEMA = Types.buildMessage()
            .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType())
            .named("topic")
            .required(PrimitiveTypeName.INT32).named("partition")
            .required(PrimitiveTypeName.INT64).named("offset")
            .optional(PrimitiveTypeName.INT64)
            .as(LogicalTypeAnnotation.timestampType(true, LogicalTypeAnnotation.TimeUnit.MILLIS))
            .named("timestamp")
            .optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType())
            .named("key")
            .optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType())
            .named("value")
            .optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType())
            .named("headers")
            .named("record");

    private ParquetObjects() {}

    static byte[] write(List<SinkRecord> records) throws IOException {
        InMemoryFile file = new InMemoryFile();
        SimpleGroupFactory groups = new SimpleGroupFactory(SCHEMA);
        Configuration conf = new Configuration(false);
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(file)
                .withConf(conf)
                .withType(SCHEMA)
                .withCompressionCodec(CompressionCodecName.SNAPPY)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .build()) {
            for (SinkRecord record : records) {
                Group row = groups.newGroup()
                        .append("topic", record.topic())
                        .append("partition", record.kafkaPartition().intValue())
                        .append("offset", record.kafkaOffset());
                if (record.timestamp() != null) row.append("timestamp", record.timestamp());
                String key = JsonLines.text(record.key());
                if (key != null) row.append("key", key);
                String value = JsonLines.text(record.value());
                if (value != null) row.append("value", value);
                if (!record.headers().isEmpty()) row.append("headers", headers(record));
                writer.write(row);
            }
        }
        return file.bytes.toByteArray();
    }

    private static String headers(SinkRecord record) {
        StringBuilder out = new StringBuilder("{");
        boolean first = true;
        for (Header header : record.headers()) {
            if (!first) out.append(',');
            first = false;
            JsonLines.appendJson(out, header.key());
            out.append(':');
            JsonLines.appendJson(out, header.value());
        }
        return out.append('}').toString();
    }

    /** A Parquet output that is a byte array: no file system, no Hadoop FileSystem. */
    private static final class InMemoryFile implements OutputFile {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public PositionOutputStream create(long blockSizeHint) {
            bytes.reset();
            return stream();
        }

        @Override
        public PositionOutputStream createOrOverwrite(long blockSizeHint) {
            return create(blockSizeHint);
        }

        @Override
        public boolean supportsBlockSize() {
            return false;
        }

        @Override
        public long defaultBlockSize() {
            return 0;
        }

        private PositionOutputStream stream() {
            return new PositionOutputStream() {
                @Override
                public long getPos() {
                    return bytes.size();
                }

                @Override
                public void write(int b) {
                    bytes.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    bytes.write(b, off, len);
                }
            };
        }
    }
}
