// Validates or applies changes to a Kafka cluster's default broker configuration: the BROKER
// config resource with an empty name, which neither confluent-kafka (librdkafka refuses an empty
// resource name) nor kafka-python (it routes broker resources by numeric id) can address.
//
// Run in Java's source-file mode with Kafka's jars: java -cp '<kafka>/libs/*' ClusterDefaults.java
// Reads one JSON request on stdin:
//   {"bootstrap": "h:p,...", "timeout_ms": 10000, "mode": "validate-each" | "apply",
//    "set": {"key": "value", ...}, "delete": ["key", ...], "security": {client settings}}
// and writes one JSON answer on stdout:
//   validate-each: {"results": {"key": null | {"type": "...Exception", "message": "..."}, ...}}
//                  (one validate-only IncrementalAlterConfigs per key, so each key gets its own
//                  verdict)
//   apply:         {"error": null | {"type": ..., "message": ...}} (one request with every change)

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;

public final class ClusterDefaults {
    private static final ConfigResource CLUSTER_DEFAULT =
            new ConfigResource(ConfigResource.Type.BROKER, "");

    public static void main(String[] args) throws Exception {
        PrintStream answerStream = System.out;
        System.setOut(System.err); // nothing but the answer goes to stdout
        ObjectMapper json = new ObjectMapper();
        JsonNode request = json.readTree(System.in);
        int timeoutMs = request.get("timeout_ms").asInt();

        List<AlterConfigOp> changes = new ArrayList<>();
        request.get("set").properties().forEach(entry -> changes.add(new AlterConfigOp(
                new ConfigEntry(entry.getKey(), entry.getValue().asText()),
                AlterConfigOp.OpType.SET)));
        request.get("delete").forEach(key -> changes.add(new AlterConfigOp(
                new ConfigEntry(key.asText(), null), AlterConfigOp.OpType.DELETE)));

        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, request.get("bootstrap").asText());
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, "steward-cluster-defaults");
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        JsonNode security = request.get("security");  // e.g. TLS settings, or absent
        if (security != null) {
            security.properties().forEach(entry -> config.put(entry.getKey(), entry.getValue().asText()));
        }

        ObjectNode answer = json.createObjectNode();
        try (Admin admin = Admin.create(config)) {
            if (request.get("mode").asText().equals("validate-each")) {
                Map<String, KafkaFuture<Void>> verdicts = new LinkedHashMap<>();
                for (AlterConfigOp change : changes) {
                    verdicts.put(change.configEntry().name(), alter(admin, List.of(change), true));
                }
                ObjectNode results = answer.putObject("results");
                verdicts.forEach((key, verdict) -> results.set(key, failure(json, verdict)));
            } else {
                answer.set("error", failure(json, alter(admin, changes, false)));
            }
        }
        answerStream.println(json.writeValueAsString(answer));
    }

    private static KafkaFuture<Void> alter(
            Admin admin, List<AlterConfigOp> changes, boolean validateOnly) {
        AlterConfigsOptions options = new AlterConfigsOptions().validateOnly(validateOnly);
        return admin.incrementalAlterConfigs(Map.of(CLUSTER_DEFAULT, changes), options).all();
    }

    /** null when the request succeeded, else the error's type and message. */
    private static JsonNode failure(ObjectMapper json, KafkaFuture<Void> result) {
        try {
            result.get();
            return json.nullNode();
        } catch (ExecutionException wrapped) {
            Throwable error = wrapped.getCause() == null ? wrapped : wrapped.getCause();
            ObjectNode described = json.createObjectNode();
            described.put("type", error.getClass().getSimpleName());
            described.put("message", String.valueOf(error.getMessage()));
            return described;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(interrupted);
        }
    }
}
