// Registers `IamSaslServer.Factory` as the JVM's SASL server for mechanism `AWS_MSK_IAM`; named in
// a broker's `security.providers`, which Kafka installs before it opens its listeners.

package steward.kafka;

import java.security.Provider;
import org.apache.kafka.common.security.auth.SecurityProviderCreator;

public class IamSecurityProviderCreator implements SecurityProviderCreator {
  static final class IamProvider extends Provider {
    IamProvider() {
      super("Steward IAM sign-in", "1.0", "SASL server for AWS_MSK_IAM");
      put("SaslServerFactory." + IamSignInVerifier.AWS_MSK_IAM, IamSaslServer.Factory.class.getName());
    }
  }

  private static final Provider PROVIDER = new IamProvider();

  @Override
  public Provider getProvider() {
    return PROVIDER;
  }
}
