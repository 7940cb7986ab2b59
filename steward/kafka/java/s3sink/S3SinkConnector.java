package steward.connect.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * Steward's S3 sink: writes a topic's records to objects of an S3-compatible store, one object
 * per topic partition and span of offsets, named after the span so that a task that resumes
 * after a crash neither skips nor repeats a record (see S3SinkTask).
 */
public class S3SinkConnector extends SinkConnector {
    private Map<String, String> settings;

    @Override
    public String version() {
        return S3SinkConfig.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        new S3SinkConfig(props); // refuse a bad configuration before any task starts
        settings = props;
    }

    @Override
    public Class<? extends Task> taskClass() {
        return S3SinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>();
        for (int i = 0; i < maxTasks; i++) {
            configs.add(settings);
        }
        return configs;
    }

    @Override
    public void stop() {}

    @Override
    public ConfigDef config() {
        return S3SinkConfig.DEFINITION;
    }
}
