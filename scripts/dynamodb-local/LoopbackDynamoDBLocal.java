// Starts AWS's DynamoDB Local listening on 127.0.0.1 only.
//
// DynamoDB Local (the jar scripts/setup.sh installs) takes a -port but no host: its Jetty
// connector binds every interface, so any host that can reach this machine could read and write
// every table, unsigned, past the local cloud's IAM. This launcher builds the server exactly as
// the jar's own main does (ServerRunner.createServerFromCommandLineArgs, the same command-line
// options), sets its connector's host to 127.0.0.1 before it starts, and starts it. It does not
// set up the jar's telemetry (which would resolve and call an AWS host). It refuses to start if
// the server has no connector it can bind to loopback, rather than listen on every interface.
//
// scripts/setup.sh compiles it into .local/dynamodb/loopback/; the local cloud, the test support
// and scripts/with-dynamodb-local.sh run it with the jar and its libraries on the class path:
//   java -Djava.library.path=./DynamoDBLocal_lib \
//     -cp 'DynamoDBLocal.jar:DynamoDBLocal_lib/*:loopback' LoopbackDynamoDBLocal -port N -inMemory

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public final class LoopbackDynamoDBLocal {
    private static final String LOOPBACK = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        // The Jetty server is a private field of DynamoDBProxyServer (DynamoDB Local 2.x).
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            fail("the server has no connector");
        }
        for (Connector connector : connectors) {
            if (!(connector instanceof ServerConnector)) {
                fail("a connector is a " + connector.getClass().getName() + ", not a ServerConnector");
            }
            ((ServerConnector) connector).setHost(LOOPBACK);
        }
        proxy.start();
        System.err.println("DynamoDB Local listening on " + LOOPBACK + " only");
        proxy.join();
    }

    private static void fail(String why) {
        System.err.println("LoopbackDynamoDBLocal: cannot bind DynamoDB Local to loopback: " + why);
        System.exit(2);
    }
}
