package steward.connect.s3;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Buffers each assigned partition's records and writes them as one object once the buffer holds
 * flush.size records or file.max.bytes bytes, or has waited rotate.interval.ms.
 *
 * Exactly-once files: an object is written whole with one PUT (S3 has no partial objects), its
 * key carries its first and last offset, and the offsets this task asks Connect to commit are
 * only those of records already in objects. When a task opens a partition it lists that
 * partition's objects and resumes after the last offset they hold, whatever Connect had
 * committed; so a task that died between writing an object and committing its offsets neither
 * writes those records again nor skips any.
 */
public class S3SinkTask extends SinkTask {
    private static final Logger LOG = LoggerFactory.getLogger(S3SinkTask.class);

    private S3SinkConfig config;
    private boolean parquet;
    private S3Client s3;
    private String bucket;
    private String prefix;
    private final Map<TopicPartition, Buffer> buffers = new HashMap<>();
    private final Map<TopicPartition, Long> written = new HashMap<>();

    /** The records of one partition not yet in an object. */
    private static final class Buffer {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        /** The records themselves, for a Parquet object (its size is still counted in JSON). */
        final List<SinkRecord> records = new ArrayList<>();
        int count;
        long first = -1;
        long last = -1;
        long firstTimestamp;
        long openedAt;
    }

    @Override
    public String version() {
        return S3SinkConfig.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        config = new S3SinkConfig(props);
        parquet = "parquet".equals(config.getString(S3SinkConfig.FORMAT));
        bucket = config.getString(S3SinkConfig.BUCKET);
        prefix = config.getString(S3SinkConfig.PREFIX);
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(config.getString(S3SinkConfig.REGION)))
                .httpClient(UrlConnectionHttpClient.create())
                .forcePathStyle(config.getBoolean(S3SinkConfig.PATH_STYLE))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(credentials());
        String endpoint = config.getString(S3SinkConfig.ENDPOINT);
        if (!endpoint.isEmpty()) {
            builder.endpointOverride(URI.create(endpoint));
        }
        s3 = builder.build();
    }

    private AwsCredentialsProvider credentials() {
        String accessKey = config.getString(S3SinkConfig.ACCESS_KEY);
        if (accessKey.isEmpty()) {
            return DefaultCredentialsProvider.builder().build();
        }
        String secret = config.getPassword(S3SinkConfig.SECRET_KEY).value();
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secret));
    }

    @Override
    public void open(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            buffers.remove(tp);
            long last = lastWrittenOffset(tp);
            if (last >= 0) {
                written.put(tp, last + 1);
                context.offset(tp, last + 1);
                LOG.info("{}: resuming after offset {}, the last one in {}", tp, last, bucket);
            } else {
                written.remove(tp);
            }
        }
    }

    private long lastWrittenOffset(TopicPartition tp) {
        ListObjectsV2Request request = ListObjectsV2Request.builder()
                .bucket(bucket)
                .prefix(ObjectNames.partitionPrefix(prefix, tp.topic(), tp.partition()))
                .build();
        long last = -1;
        try {
            for (S3Object object : s3.listObjectsV2Paginator(request).contents()) {
                last = Math.max(last, ObjectNames.lastOffset(object.key()));
            }
        } catch (SdkException e) {
            throw new ConnectException("cannot list the objects of " + tp + " in " + bucket, e);
        }
        return last;
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        long now = System.currentTimeMillis();
        for (SinkRecord record : records) {
            TopicPartition tp = new TopicPartition(record.topic(), record.kafkaPartition());
            Buffer buffer = buffers.computeIfAbsent(tp, k -> new Buffer());
            long next = Math.max(written.getOrDefault(tp, 0L), buffer.last + 1);
            if (record.kafkaOffset() < next) {
                continue; // already in an object or in the buffer (a redelivered batch)
            }
            byte[] line = JsonLines.line(record);
            if (buffer.count > 0 && buffer.bytes.size() + line.length
                    > config.getLong(S3SinkConfig.MAX_BYTES)) {
                write(tp, buffer);
                buffer = buffers.computeIfAbsent(tp, k -> new Buffer());
            }
            if (buffer.count == 0) {
                buffer.first = record.kafkaOffset();
                buffer.firstTimestamp = record.timestamp() == null ? now : record.timestamp();
                buffer.openedAt = now;
            }
            buffer.bytes.writeBytes(line);
            if (parquet) buffer.records.add(record);
            buffer.count++;
            buffer.last = record.kafkaOffset();
            if (buffer.count >= config.getInt(S3SinkConfig.FLUSH_SIZE)) {
                write(tp, buffer);
            }
        }
        rotateOld(now);
    }

    private void rotateOld(long now) {
        long interval = config.getLong(S3SinkConfig.ROTATE_INTERVAL);
        for (Map.Entry<TopicPartition, Buffer> entry : Map.copyOf(buffers).entrySet()) {
            Buffer buffer = entry.getValue();
            if (buffer.count > 0 && now - buffer.openedAt >= interval) {
                write(entry.getKey(), buffer);
            }
        }
    }

    private void write(TopicPartition tp, Buffer buffer) {
        String key = ObjectNames.key(prefix, tp.topic(), tp.partition(), buffer.firstTimestamp,
                buffer.first, buffer.last, parquet ? "parquet" : "jsonl");
        byte[] body;
        try {
            body = parquet ? ParquetObjects.write(buffer.records) : buffer.bytes.toByteArray();
        } catch (java.io.IOException e) {
            throw new ConnectException(
                    "cannot write " + key + " as Parquet", e);
        }
        try {
            s3.putObject(PutObjectRequest.builder()
                            .bucket(bucket)
                            .key(key)
                            .contentType(parquet ? "application/vnd.apache.parquet"
                                    : "application/x-ndjson")
                            .build(),
                    RequestBody.fromBytes(body));
        } catch (SdkException e) {
            // the buffer stays: Connect hands the batch again, and the records already held
            // are skipped by offset
            throw new RetriableException("cannot write " + key + " to " + bucket, e);
        }
        written.put(tp, buffer.last + 1);
        buffers.remove(tp);
        LOG.debug("wrote {} records of {} to {}", buffer.count, tp, key);
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(
            Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        try {
            rotateOld(System.currentTimeMillis());
        } catch (RetriableException e) {
            LOG.warn("rotating objects failed; retried on the next batch", e);
        }
        Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
        for (TopicPartition tp : currentOffsets.keySet()) {
            Long next = written.get(tp);
            if (next != null) {
                committed.put(tp, new OffsetAndMetadata(next));
            }
        }
        return committed;
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            buffers.remove(tp); // not committed: whoever opens the partition next reads them again
            written.remove(tp);
        }
    }

    @Override
    public void stop() {
        if (s3 != null) {
            s3.close();
        }
    }
}
