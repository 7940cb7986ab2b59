// The JAAS login module of a broker's AWS_MSK_IAM listener, which Kafka requires of every
// mechanism: a broker holds no credentials of its own for IAM, so it logs in as nobody.

package steward.kafka;

import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.spi.LoginModule;

public class IamLoginModule implements LoginModule {
  @Override
  public void initialize(
      Subject subject, CallbackHandler handler, Map<String, ?> shared, Map<String, ?> options) {}

  @Override
  public boolean login() {
    return true;
  }

  @Override
  public boolean commit() {
    return true;
  }

  @Override
  public boolean abort() {
    return false;
  }

  @Override
  public boolean logout() {
    return true;
  }
}
