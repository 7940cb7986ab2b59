// The broker's side of SASL mechanism `AWS_MSK_IAM`, the one aws-msk-iam-auth's `IAMLoginModule`
// speaks: a single round, the client's first message a JSON payload with a SigV4 signature
// (`IamSignInVerifier` checks it), the server's answer a JSON object with the payload version and
// a request id, which the client requires before it considers itself signed in.
//
// Kafka finds this server through the JVM's SASL providers: `IamSecurityProviderCreator`,
// named in the broker's `security.providers`, registers `Factory` for the mechanism. The
// listener's `aws_msk_iam.sasl.server.callback.handler.class` is `IamSignInVerifier`, which Kafka
// hands to the factory. The authorization id is the key's principal ARN (so the Kafka principal is
// `User:<ARN>`); the negotiated `CREDENTIAL.LIFETIME.MS` is when the signature expires, which
// with `connections.max.reauth.ms` on the listener ends the session then unless the client signs
// in again.

package steward.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.authenticator.SaslInternalConfigs;

public class IamSaslServer implements SaslServer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CallbackHandler handler;
  private IamSignInVerifier.Outcome outcome;
  private boolean complete;

  IamSaslServer(CallbackHandler handler) {
    this.handler = handler;
  }

  @Override
  public String getMechanismName() {
    return IamSignInVerifier.AWS_MSK_IAM;
  }

  @Override
  public byte[] evaluateResponse(byte[] response) throws SaslException {
    if (complete || outcome != null) {
      throw new IllegalStateException("AWS_MSK_IAM takes one message");
    }
    IamSignInVerifier.PayloadCallback callback = new IamSignInVerifier.PayloadCallback(response);
    try {
      handler.handle(new Callback[] {callback});
    } catch (IOException | UnsupportedCallbackException e) {
      throw new SaslException("AWS_MSK_IAM needs steward.kafka.IamSignInVerifier as the "
          + "listener's server callback handler", e);
    }
    outcome = callback.outcome();
    if (outcome == null || !outcome.accepted()) {
      String request = outcome == null ? "" : " (request " + outcome.requestId() + ")";
      throw new SaslAuthenticationException("Access denied" + request);
    }
    complete = true;
    ObjectNode answer = JSON.createObjectNode();
    answer.put("version", IamSignInVerifier.PAYLOAD_VERSION);
    answer.put("request-id", outcome.requestId());
    try {
      return JSON.writeValueAsString(answer).getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SaslException("cannot write the answer", e);
    }
  }

  @Override
  public boolean isComplete() {
    return complete;
  }

  @Override
  public String getAuthorizationID() {
    if (!complete) throw new IllegalStateException("not signed in");
    return outcome.principalArn();
  }

  @Override
  public byte[] unwrap(byte[] incoming, int offset, int len) {
    throw new IllegalStateException("AWS_MSK_IAM has no security layer");
  }

  @Override
  public byte[] wrap(byte[] outgoing, int offset, int len) {
    throw new IllegalStateException("AWS_MSK_IAM has no security layer");
  }

  @Override
  public Object getNegotiatedProperty(String name) {
    if (!complete) throw new IllegalStateException("not signed in");
    if (SaslInternalConfigs.CREDENTIAL_LIFETIME_MS_SASL_NEGOTIATED_PROPERTY_KEY.equals(name)) {
      return outcome.lifetimeMs();
    }
    return null;
  }

  @Override
  public void dispose() {}

  /** Registered for `SaslServerFactory.AWS_MSK_IAM` by `IamSecurityProviderCreator`. */
  public static final class Factory implements SaslServerFactory {
    @Override
    public SaslServer createSaslServer(
        String mechanism,
        String protocol,
        String serverName,
        Map<String, ?> props,
        CallbackHandler handler)
        throws SaslException {
      if (!IamSignInVerifier.AWS_MSK_IAM.equals(mechanism)) {
        throw new SaslException("unsupported mechanism " + mechanism);
      }
      return new IamSaslServer(handler);
    }

    @Override
    public String[] getMechanismNames(Map<String, ?> props) {
      return new String[] {IamSignInVerifier.AWS_MSK_IAM};
    }
  }
}
