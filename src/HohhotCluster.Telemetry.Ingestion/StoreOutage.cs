using System.Net.Sockets;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Whether a failure means a store is away or out of room (PostgreSQL down, restarting, its disk full; InfluxDB
/// unreachable; a grain call timing out or not reaching a silo that died), which is waited out however long it lasts,
/// rather than something in the batch itself, which splitting the batch can isolate.
/// </summary>
public static class StoreOutage
{
    public static bool Is(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(Is);
            }

            if (PostgresRetry.IsTransient(e))
            {
                return true;
            }

            switch (e)
            {
                // 08 connection, 53 insufficient resources (disk full, out of memory), 57 operator intervention, 58 system error.
                case PostgresException pg when pg.SqlState.Length >= 2 && pg.SqlState[..2] is "08" or "53" or "57" or "58":
                case NpgsqlException { InnerException: IOException or SocketException or TimeoutException }:
                case TimeoutException or IOException or SocketException or HttpRequestException:
                case Orleans.Runtime.SiloUnavailableException or Orleans.Storage.InconsistentStateException:
                    return true;

                // A grain call that never reached its activation: the silo it is on does not answer. Between a silo's
                // death (SIGKILL, a partition) and the others voting it dead, Orleans fails such calls with this (a
                // ConnectionFailedException inside: "Unable to connect to S127.0.0.1:..."), not with
                // SiloUnavailableException (which derives from it); then the grain moves to a live silo. Taken for a
                // reading that breaks its batch, it split the batch and quarantined good readings as processing_failed,
                // one of them already counted by a grain that committed just before the kill (issue 15's kill proof).
                case Orleans.Runtime.OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>Whether the outage is PostgreSQL's (else InfluxDB's, or a grain call's).</summary>
    public static bool IsPostgres(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException || (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsPostgres)))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A store failure ingestion is waiting out: whose, and what it said.</summary>
public sealed record StoreFailure(bool Postgres, string Message);
