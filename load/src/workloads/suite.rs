//! The suite of the performance targets, with a summary against them.

use super::run::Run;
use crate::client::Error;

impl Run {
    /// The suite of the performance targets, then a summary against them.
    pub async fn all(&self) -> Result<(), Error> {
        if let Some(pid) = self.server_pid {
            println!(
                "server idle RSS {:.1} MiB",
                crate::process::rss_mib(pid).unwrap_or(0.0)
            );
        }
        let create = self.create(20_000, 64).await?;
        let get = self.get(1000, 50_000, 32).await?;
        let update = self.update(1000, 20_000, 16).await?;
        let list_1k = self.list(1000, 20).await?;
        let list_10k = self.list(10_000, 10).await?;
        let (watch_100, lost_100) = self.watch(100, 500, 50).await?;
        let (watch_1k, lost_1k) = self.watch(1000, 500, 50).await?;
        let gc = self.gc(10_000).await?;
        let nsdel = self.namespace_deletion(10_000).await?;
        println!();
        println!("| workload | measured | target | kube-apiserver reference |");
        println!("|---|---|---|---|");
        println!(
            "| create, 64 clients | {:.0}/s | >= 10,000/s | ~1,300/s |",
            create.ok_per_second
        );
        println!(
            "| get by name, 32 clients | {:.0}/s | >= 15,000/s | 2,292/s |",
            get.ok_per_second
        );
        println!(
            "| get + PUT, 16 clients | {:.0} PUT/s | >= 5,000 PUT/s | 629 PUT/s |",
            update.ok_per_second
        );
        println!("| list 1,000 p50 | {list_1k:.1} ms | <= 8 ms | 25.7 ms |");
        println!("| list 10,000 p50 | {list_10k:.1} ms | <= 60 ms | 182 ms |");
        println!(
            "| watch 100 x 50/s p99 | {watch_100:.1} ms, lost {lost_100} | - | 6.9 ms, 0 lost |"
        );
        println!(
            "| watch 1,000 x 50/s p99 | {watch_1k:.1} ms, lost {lost_1k} | <= 20 ms, 0 lost | 101-246 ms, 0 lost |"
        );
        println!("| garbage-collect 10,000 dependents | {gc:.1} s | <= 30 s | - |");
        println!("| delete a namespace of 10,000 objects | {nsdel:.1} s | <= 30 s | - |");
        Ok(())
    }
}
