// A Kafka principal builder for a listener with mutual TLS: Kafka's own principal for every
// connection (the certificate's subject, or the SASL user), except that a client certificate the
// certificate revocation lists revoke becomes the principal `User:steward-revoked`, which no
// access policy can name and so no ACL allows: every request it makes is refused with an
// authorization error.
//
// Kafka's TLS trust manager does not read CRLs; the JVM's revocation checking would fetch them
// from each certificate's distribution point, over the network, on every new connection, and fail
// closed when the control plane is away. Here the lists come from a local file that the node's
// agent rewrites when a certificate is revoked (`steward.revocation.lists.location`, PEM, any
// number of CRLs); it is read again when it changes, at most once a second, so that a revocation
// takes effect on open connections as well as new ones, with no restart.
//
// Built by the agent with Kafka's jars on the class path (`steward.kafka.plugins`) and set on a
// listener with `listener.name.<listener>.principal.builder.class`.

package steward.kafka;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CRL;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.security.auth.AuthenticationContext;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.KafkaPrincipalBuilder;
import org.apache.kafka.common.security.auth.KafkaPrincipalSerde;
import org.apache.kafka.common.security.auth.SslAuthenticationContext;
import org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder;
import org.apache.kafka.common.security.ssl.SslPrincipalMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class RevocationCheckingPrincipalBuilder
    implements KafkaPrincipalBuilder, KafkaPrincipalSerde, Configurable {
  public static final String LISTS_LOCATION = "steward.revocation.lists.location";
  public static final String REVOKED = "steward-revoked";
  private static final long RECHECK_NANOS = 1_000_000_000L;
  private static final Logger log =
      LoggerFactory.getLogger(RevocationCheckingPrincipalBuilder.class);

  private DefaultKafkaPrincipalBuilder kafkas =
      new DefaultKafkaPrincipalBuilder(null, SslPrincipalMapper.fromRules("DEFAULT"));
  private Path lists;
  private volatile List<X509CRL> revocations = List.of();
  private volatile long checkedAt;
  private volatile long readModified = Long.MIN_VALUE;

  @Override
  public void configure(Map<String, ?> configs) {
    Object rules = configs.get("ssl.principal.mapping.rules");
    kafkas =
        new DefaultKafkaPrincipalBuilder(
            null, SslPrincipalMapper.fromRules(rules == null ? "DEFAULT" : rules.toString()));
    Object location = configs.get(LISTS_LOCATION);
    lists = location == null ? null : Path.of(location.toString());
    checkedAt = System.nanoTime() - RECHECK_NANOS;
  }

  @Override
  public KafkaPrincipal build(AuthenticationContext context) {
    KafkaPrincipal principal = kafkas.build(context);
    if (context instanceof SslAuthenticationContext ssl && isRevoked(ssl)) {
      log.warn("Refusing {}: its certificate is revoked", principal);
      return new KafkaPrincipal(KafkaPrincipal.USER_TYPE, REVOKED);
    }
    return principal;
  }

  private boolean isRevoked(SslAuthenticationContext context) {
    Certificate[] chain;
    try {
      chain = context.session().getPeerCertificates();
    } catch (SSLPeerUnverifiedException noCertificate) {
      return false;
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate certificate)) {
      return false;
    }
    for (X509CRL list : current()) {
      if (list.getIssuerX500Principal().equals(certificate.getIssuerX500Principal())
          && list.isRevoked(certificate)) {
        return true;
      }
    }
    return false;
  }

  private List<X509CRL> current() {
    long now = System.nanoTime();
    if (lists == null || now - checkedAt < RECHECK_NANOS) {
      return revocations;
    }
    synchronized (this) {
      if (now - checkedAt < RECHECK_NANOS) {
        return revocations;
      }
      checkedAt = now;
      try {
        long modified = Files.exists(lists) ? Files.getLastModifiedTime(lists).toMillis() : -1;
        if (modified != readModified) {
          revocations = read(lists);
          readModified = modified;
          log.info("Read {} certificate revocation list(s) from {}", revocations.size(), lists);
        }
      } catch (Exception error) {
        // Keep the lists read last: a half-written or unreadable file must not undo revocations.
        log.error("Could not read the certificate revocation lists at {}", lists, error);
      }
    }
    return revocations;
  }

  private static List<X509CRL> read(Path path) throws Exception {
    if (!Files.exists(path)) {
      return List.of();
    }
    List<X509CRL> found = new ArrayList<>();
    try (InputStream in = Files.newInputStream(path)) {
      Collection<? extends CRL> crls = CertificateFactory.getInstance("X.509").generateCRLs(in);
      for (CRL crl : crls) {
        if (crl instanceof X509CRL x509) {
          found.add(x509);
        }
      }
    }
    return List.copyOf(found);
  }

  @Override
  public byte[] serialize(KafkaPrincipal principal) throws SerializationException {
    return kafkas.serialize(principal);
  }

  @Override
  public KafkaPrincipal deserialize(byte[] bytes) throws SerializationException {
    return kafkas.deserialize(bytes);
  }
}
