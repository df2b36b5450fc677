namespace Federate.Client.Internal;

/// <summary>
/// One long-lived background thread that runs a client's tasks one after another. Training is CPU-bound, so it runs
/// off the thread pool (heartbeats keep flowing); a thread of its own started for every task cost a thread's creation
/// and start-up per task, about a tenth of the CPU of a process serving 100 virtual clients with a small model.
/// The idle thread blocks without spinning (Monitor.Wait): a BlockingCollection's wait spins with sched_yield first,
/// which took a fifth of such a process's CPU.
/// </summary>
internal sealed class TaskThread : IDisposable
{
    private readonly Queue<Action> _work = new();
    private readonly object _gate = new();
    private bool _disposed;
    private Thread? _thread;

    /// <summary>Runs <paramref name="body"/> on the thread after the work queued before it; canceled if the token is before it starts.</summary>
    public Task<T> RunAsync<T>(Func<T> body, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_thread is null)
            {
                _thread = new Thread(Serve) { IsBackground = true, Name = "federate-client-task" };
                _thread.Start();
            }

            _work.Enqueue(() =>
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);
                    return;
                }

                try
                {
                    done.TrySetResult(body());
                }
                catch (OperationCanceledException ex) when (ex.CancellationToken == cancellationToken || cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                }
            });
            Monitor.Pulse(_gate);
        }

        return done.Task;
    }

    private void Serve()
    {
        while (true)
        {
            Action work;
            lock (_gate)
            {
                while (_work.Count == 0)
                {
                    if (_disposed)
                    {
                        return;
                    }

                    Monitor.Wait(_gate);
                }

                work = _work.Dequeue();
            }

            work();
        }
    }

    /// <summary>Lets the thread finish the work queued and end.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.Pulse(_gate);
        }
    }
}
