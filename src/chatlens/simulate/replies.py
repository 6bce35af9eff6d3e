"""What bots and agents say, per topic and language, and the small fixed texts around them.

Bot and agent answers use the same "topic line, then one line per language" layout as
`phrases.py`. Fallback phrases are the multilingual defaults the metrics recognise, so a bot
message without the `fallback` flag is still detectable downstream.
"""

from __future__ import annotations

_BOT_ANSWERS = """
order_status
en You can track your order under Account > Orders; most orders arrive in 2-4 days.
fi Voit seurata tilaustasi kohdassa Oma tili > Tilaukset; useimmat saapuvat 2-4 päivässä.
sv Du kan följa din order under Konto > Beställningar; de flesta kommer inom 2-4 dagar.
fr Suivez votre commande dans Compte > Commandes ; la plupart arrivent en 2 à 4 jours.
id Lacak pesanan Anda di Akun > Pesanan; biasanya tiba dalam 2-4 hari.
refund
en Refunds go to your original payment method within 5 business days of receiving the return.
fi Hyvitys maksetaan alkuperäiseen maksutapaan 5 arkipäivän kuluessa palautuksen saapumisesta.
sv Återbetalningen görs till ditt betalsätt inom 5 arbetsdagar efter att vi fått returen.
fr Le remboursement est effectué sous 5 jours ouvrés après réception du retour.
id Dana dikembalikan ke metode pembayaran Anda dalam 5 hari kerja setelah retur diterima.
password_reset
en Click 'Forgot password' on the login page and we'll email you a reset link.
fi Valitse kirjautumissivulla 'Unohtuiko salasana', niin lähetämme palautuslinkin.
sv Klicka på 'Glömt lösenord' på inloggningssidan så mejlar vi en länk.
fr Cliquez sur 'Mot de passe oublié' sur la page de connexion pour recevoir un lien.
id Klik 'Lupa kata sandi' di halaman login dan kami kirim tautan reset ke email Anda.
shipping_cost
en Shipping is free over 50 EUR; otherwise it costs 4.90 EUR.
fi Toimitus on ilmainen yli 50 euron tilauksille, muuten 4,90 €.
sv Frakten är gratis över 50 EUR, annars kostar den 4,90 EUR.
fr La livraison est gratuite dès 50 EUR, sinon elle coûte 4,90 EUR.
id Gratis ongkir untuk belanja di atas 50 EUR, selain itu 4,90 EUR.
delivery_time
en Delivery usually takes 2-4 business days.
fi Toimitus kestää yleensä 2-4 arkipäivää.
sv Leveransen tar normalt 2-4 arbetsdagar.
fr La livraison prend généralement 2 à 4 jours ouvrés.
id Pengiriman biasanya 2-4 hari kerja.
cancel_subscription
en You can cancel anytime under Account > Subscription; it runs until the end of the period.
fi Voit lopettaa milloin vain kohdassa Oma tili > Tilaus; jakso on voimassa loppuun asti.
sv Du kan säga upp när som helst under Konto > Prenumeration; den gäller perioden ut.
fr Résiliez à tout moment dans Compte > Abonnement ; il reste actif jusqu'à la fin de la période.
id Anda bisa berhenti kapan saja di Akun > Langganan; paket aktif sampai akhir periode.
change_address
en You can change the address under Account > Orders until the order has shipped.
fi Voit muuttaa osoitetta kohdassa Oma tili > Tilaukset ennen lähetystä.
sv Du kan ändra adressen under Konto > Beställningar tills ordern har skickats.
fr Vous pouvez modifier l'adresse dans Compte > Commandes avant l'expédition.
id Alamat bisa diubah di Akun > Pesanan sebelum pesanan dikirim.
invoice_copy
en All invoices can be downloaded as PDF under Account > Orders.
fi Kaikki laskut voi ladata PDF-muodossa kohdasta Oma tili > Tilaukset.
sv Alla fakturor kan laddas ner som PDF under Konto > Beställningar.
fr Toutes les factures sont téléchargeables en PDF dans Compte > Commandes.
id Semua faktur bisa diunduh dalam PDF di Akun > Pesanan.
payment_failed
en Please check your card details or try another payment method; no money was taken.
fi Tarkista korttitiedot tai kokeile toista maksutapaa; veloitusta ei tehty.
sv Kontrollera kortuppgifterna eller prova ett annat betalsätt; inga pengar drogs.
fr Vérifiez votre carte ou essayez un autre moyen de paiement ; rien n'a été débité.
id Periksa data kartu atau coba metode pembayaran lain; tidak ada dana yang terpotong.
discount_code
en Enter the code in the cart before checkout; codes can't be combined with sale prices.
fi Syötä koodi ostoskorissa ennen kassaa; koodeja ei voi yhdistää alennettuihin hintoihin.
sv Ange koden i varukorgen före kassan; koder gäller inte på reavaror.
fr Saisissez le code dans le panier ; il n'est pas cumulable avec les soldes.
id Masukkan kode di keranjang sebelum checkout; kode tidak berlaku untuk barang diskon.
product_availability
en Stock is shown on each product page; you can sign up for a restock alert there.
fi Saldo näkyy tuotesivulla, ja voit tilata sieltä ilmoituksen kun tuote palaa.
sv Lagersaldot syns på produktsidan, där kan du också bevaka varan.
fr Le stock est affiché sur la fiche produit ; vous pouvez y demander une alerte.
id Stok terlihat di halaman produk; Anda bisa daftar notifikasi stok di sana.
opening_hours
en Our customer service is open Mon-Fri 8-20 and Sat-Sun 10-18.
fi Asiakaspalvelumme palvelee ma-pe 8-20 ja la-su 10-18.
sv Kundtjänst har öppet mån-fre 8-20 och lör-sön 10-18.
fr Le service client est ouvert du lundi au vendredi 8h-20h et le week-end 10h-18h.
id Layanan pelanggan buka Senin-Jumat 08.00-20.00 dan Sabtu-Minggu 10.00-18.00.
warranty
en All products have a 2-year warranty; keep your receipt as proof of purchase.
fi Kaikilla tuotteilla on 2 vuoden takuu; säilytä kuitti ostotositteena.
sv Alla produkter har 2 års garanti; spara kvittot som köpbevis.
fr Tous nos produits sont garantis 2 ans ; gardez votre reçu comme preuve d'achat.
id Semua produk bergaransi 2 tahun; simpan struk sebagai bukti pembelian.
return_label
en You can print a free return label under Account > Returns within 30 days.
fi Voit tulostaa ilmaisen palautuslapun kohdasta Oma tili > Palautukset 30 päivän ajan.
sv Du kan skriva ut en gratis returetikett under Konto > Returer inom 30 dagar.
fr Imprimez une étiquette de retour gratuite dans Compte > Retours sous 30 jours.
id Cetak label retur gratis di Akun > Retur dalam 30 hari.
account_deletion
en You can delete your account under Account > Privacy; this cannot be undone.
fi Voit poistaa tilin kohdassa Oma tili > Tietosuoja; poistoa ei voi perua.
sv Du kan radera kontot under Konto > Integritet; det går inte att ångra.
fr Vous pouvez supprimer votre compte dans Compte > Confidentialité ; c'est irréversible.
id Akun bisa dihapus di Akun > Privasi; tindakan ini tidak bisa dibatalkan.
technical_error
en Please try clearing your browser cache or updating the app to the latest version.
fi Kokeile tyhjentää selaimen välimuisti tai päivittää sovellus uusimpaan versioon.
sv Prova att rensa webbläsarens cache eller uppdatera appen till senaste versionen.
fr Essayez de vider le cache du navigateur ou de mettre l'application à jour.
id Coba hapus cache browser atau perbarui aplikasi ke versi terbaru.
pricing_plans
en We have Basic (free), Plus (4.99 EUR/month) and Premium (9.99 EUR/month).
fi Meillä on Basic (ilmainen), Plus (4,99 €/kk) ja Premium (9,99 €/kk).
sv Vi har Basic (gratis), Plus (4,99 EUR/mån) och Premium (9,99 EUR/mån).
fr Nous proposons Basic (gratuit), Plus (4,99 EUR/mois) et Premium (9,99 EUR/mois).
id Ada paket Basic (gratis), Plus (4,99 EUR/bulan) dan Premium (9,99 EUR/bulan).
contact_human
en I'll connect you with a colleague, one moment please.
fi Yhdistän sinut asiakaspalvelijalle, hetki vain.
sv Jag kopplar dig till en kollega, ett ögonblick.
fr Je vous mets en relation avec un conseiller, un instant.
id Saya hubungkan Anda ke agen kami, mohon tunggu.
size_guide
en Our size guide is linked on every product page; shoes run true to size.
fi Kokotaulukko löytyy jokaiselta tuotesivulta; kengät ovat normaalikokoisia.
sv Storleksguiden finns på varje produktsida; skorna är normala i storleken.
fr Le guide des tailles est sur chaque fiche produit ; les chaussures taillent normalement.
id Panduan ukuran ada di setiap halaman produk; ukuran sepatu sesuai standar.
gift_card
en Gift cards are sold online and can be used at checkout under 'Gift card'.
fi Lahjakortteja myydään verkossa, ja ne käytetään kassalla kohdassa 'Lahjakortti'.
sv Presentkort säljs online och används i kassan under 'Presentkort'.
fr Les cartes cadeaux s'achètent en ligne et s'utilisent au paiement ('Carte cadeau').
id Kartu hadiah dijual online dan dipakai saat checkout di bagian 'Gift card'.
"""

_AGENT_ANSWERS = """
order_status
en I checked your order: it left our warehouse yesterday and should arrive tomorrow.
fi Tarkistin tilauksesi: se lähti varastolta eilen ja saapuu huomenna.
sv Jag kollade din order: den lämnade lagret igår och bör komma imorgon.
fr J'ai vérifié votre commande : elle est partie hier et devrait arriver demain.
id Saya sudah cek pesanan Anda: dikirim kemarin dan seharusnya tiba besok.
refund
en I have started the refund now, you'll see the money in 3-5 days.
fi Käynnistin hyvityksen nyt, rahat näkyvät tililläsi 3-5 päivässä.
sv Jag har startat återbetalningen, pengarna syns inom 3-5 dagar.
fr J'ai lancé le remboursement, vous le recevrez sous 3 à 5 jours.
id Refund sudah saya proses, dana masuk dalam 3-5 hari.
password_reset
en I've sent you a new reset link, it is valid for one hour.
fi Lähetin sinulle uuden palautuslinkin, se on voimassa tunnin.
sv Jag har skickat en ny länk, den gäller i en timme.
fr Je vous ai envoyé un nouveau lien, valable une heure.
id Saya sudah kirim link reset baru, berlaku satu jam.
shipping_cost
en For your order shipping is 4.90 EUR, or free if you add 12 EUR more.
fi Tilauksesi toimitus on 4,90 €, tai ilmainen jos lisäät 12 € lisää.
sv Frakten för din order är 4,90 EUR, eller gratis om du handlar för 12 EUR till.
fr Pour votre commande, la livraison coûte 4,90 EUR, ou gratuite avec 12 EUR de plus.
id Ongkir pesanan Anda 4,90 EUR, atau gratis jika belanja 12 EUR lagi.
delivery_time
en Your package is with the carrier and should arrive within 2 days.
fi Pakettisi on kuljetusyhtiöllä ja saapuu 2 päivän sisällä.
sv Paketet är hos transportören och bör komma inom 2 dagar.
fr Votre colis est chez le transporteur et arrivera sous 2 jours.
id Paket Anda sudah di kurir dan akan tiba dalam 2 hari.
cancel_subscription
en I have cancelled your subscription, it stays active until the end of the month.
fi Lopetin tilauksesi, se on voimassa kuun loppuun.
sv Jag har sagt upp din prenumeration, den gäller månaden ut.
fr J'ai résilié votre abonnement, il reste actif jusqu'à la fin du mois.
id Langganan Anda sudah saya batalkan, tetap aktif sampai akhir bulan.
change_address
en Done, I updated the delivery address on your order.
fi Valmista, päivitin tilauksesi toimitusosoitteen.
sv Klart, jag har uppdaterat leveransadressen på din order.
fr C'est fait, j'ai mis à jour l'adresse de livraison.
id Sudah, alamat pengiriman pesanan Anda saya perbarui.
invoice_copy
en I've emailed you a copy of the invoice.
fi Lähetin kopion laskusta sähköpostiisi.
sv Jag har mejlat dig en kopia av fakturan.
fr Je vous ai envoyé une copie de la facture par e-mail.
id Salinan faktur sudah saya kirim ke email Anda.
payment_failed
en I can see the failed attempt; the charge was reversed, please try again.
fi Näen epäonnistuneen yrityksen; veloitus on peruttu, kokeile uudelleen.
sv Jag ser det misslyckade försöket; dragningen är återförd, försök igen.
fr Je vois la tentative échouée ; le débit a été annulé, réessayez svp.
id Saya lihat transaksi gagal; tagihan sudah dibatalkan, silakan coba lagi.
discount_code
en I applied the discount to your order manually.
fi Lisäsin alennuksen tilaukseesi käsin.
sv Jag har lagt till rabatten på din order manuellt.
fr J'ai appliqué la réduction manuellement sur votre commande.
id Diskon sudah saya terapkan manual ke pesanan Anda.
product_availability
en We expect new stock next week, I can reserve one for you.
fi Uutta erää odotetaan ensi viikolla, voin varata sinulle yhden.
sv Vi väntar ny leverans nästa vecka, jag kan reservera en åt dig.
fr Nous attendons du stock la semaine prochaine, je peux vous en réserver un.
id Stok baru datang minggu depan, saya bisa pesankan satu untuk Anda.
opening_hours
en We're open until 20:00 today and 10-18 at the weekend.
fi Olemme auki tänään klo 20 asti ja viikonloppuna 10-18.
sv Vi har öppet till 20 idag och 10-18 i helgen.
fr Nous sommes ouverts jusqu'à 20h aujourd'hui et 10h-18h le week-end.
id Kami buka sampai pukul 20.00 hari ini dan 10.00-18.00 akhir pekan.
warranty
en That is covered by the warranty, I'll send you a replacement.
fi Tämä kuuluu takuuseen, lähetän sinulle uuden tilalle.
sv Det täcks av garantin, jag skickar en ersättare.
fr C'est couvert par la garantie, je vous envoie un remplacement.
id Itu tercakup garansi, kami kirim barang pengganti.
return_label
en I've emailed you a prepaid return label.
fi Lähetin sinulle maksetun palautuslapun sähköpostilla.
sv Jag har mejlat en förbetald returetikett.
fr Je vous ai envoyé une étiquette de retour prépayée.
id Label retur prabayar sudah saya kirim ke email Anda.
account_deletion
en Your account deletion is scheduled, you will get a confirmation email.
fi Tilisi poisto on ajastettu, saat vahvistuksen sähköpostiin.
sv Raderingen av ditt konto är bokad, du får en bekräftelse via mejl.
fr La suppression de votre compte est programmée, vous recevrez une confirmation.
id Penghapusan akun dijadwalkan, Anda akan menerima email konfirmasi.
technical_error
en Thanks for the details, our developers fixed the checkout error, please retry.
fi Kiitos tiedoista, kehittäjämme korjasivat kassan virheen, kokeile uudelleen.
sv Tack för detaljerna, utvecklarna har fixat felet i kassan, försök igen.
fr Merci pour les détails, nos développeurs ont corrigé l'erreur, réessayez.
id Terima kasih infonya, tim kami sudah memperbaiki error checkout, silakan coba lagi.
pricing_plans
en Premium includes free shipping and priority support; I can start a free trial for you.
fi Premiumiin kuuluu ilmainen toimitus ja etusijatuki; voin aloittaa sinulle kokeilun.
sv Premium ger fri frakt och prioriterad support; jag kan starta en gratis provperiod.
fr Premium inclut la livraison gratuite et un support prioritaire ; je peux lancer un essai.
id Premium termasuk gratis ongkir dan dukungan prioritas; saya bisa aktifkan uji coba.
contact_human
en Hi, I'm here now, how can I help you?
fi Hei, olen nyt tässä, miten voin auttaa?
sv Hej, jag är här nu, hur kan jag hjälpa dig?
fr Bonjour, je suis là, comment puis-je vous aider ?
id Halo, saya sudah di sini, ada yang bisa dibantu?
size_guide
en For that model I'd recommend one size up.
fi Suosittelen tuohon malliin yhtä kokoa isompaa.
sv För den modellen rekommenderar jag en storlek större.
fr Pour ce modèle, je vous conseille une taille au-dessus.
id Untuk model itu saya sarankan satu ukuran lebih besar.
gift_card
en I corrected your gift card balance, it now shows 50 EUR.
fi Korjasin lahjakorttisi saldon, se on nyt 50 €.
sv Jag har rättat saldot på presentkortet, det visar nu 50 EUR.
fr J'ai corrigé le solde de votre carte cadeau, il affiche 50 EUR.
id Saldo gift card Anda sudah saya perbaiki, sekarang 50 EUR.
"""

FALLBACKS = {
    "en": "Sorry, I didn't understand that.",
    "fi": "Anteeksi, en ymmärtänyt.",
    "sv": "Förlåt, jag förstod inte.",
    "fr": "Désolé, je n'ai pas compris.",
    "id": "Maaf, saya tidak mengerti.",
}
WELCOME = {
    "en": "Hi! I'm the virtual assistant. Ask me anything about your order.",
    "fi": "Hei! Olen virtuaaliavustaja. Kysy minulta mitä vain tilauksestasi.",
    "sv": "Hej! Jag är den virtuella assistenten. Fråga mig om din beställning.",
    "fr": "Bonjour ! Je suis l'assistant virtuel. Posez-moi vos questions.",
    "id": "Halo! Saya asisten virtual. Tanyakan apa saja tentang pesanan Anda.",
}
WELCOME_PROACTIVE = {
    "en": "Need help finding something? I'm here to help!",
    "fi": "Tarvitsetko apua? Autan mielelläni!",
    "sv": "Behöver du hjälp? Jag hjälper gärna till!",
    "fr": "Besoin d'aide ? Je suis là pour vous aider !",
    "id": "Butuh bantuan? Saya siap membantu!",
}
BOT_GREETING_REPLY = {
    "en": "Hi! What can I help you with today?",
    "fi": "Hei! Miten voin auttaa?",
    "sv": "Hej! Vad kan jag hjälpa dig med?",
    "fr": "Bonjour ! Comment puis-je vous aider ?",
    "id": "Halo! Ada yang bisa saya bantu?",
}
AGENT_HELLO_CANNED = {
    "en": "Hi, thanks for contacting us! Let me take a look.",
    "fi": "Hei, kiitos yhteydenotosta! Katsotaan asiaa.",
    "sv": "Hej, tack för att du kontaktar oss! Jag tittar på det.",
    "fr": "Bonjour, merci de nous avoir contactés ! Je regarde cela.",
    "id": "Halo, terima kasih sudah menghubungi kami! Saya cek dulu ya.",
}
AGENT_HELLO = {
    "en": "Hello! Sorry for the wait, I'm reading your question now.",
    "fi": "Hei! Pahoittelut odotuksesta, luen kysymystäsi.",
    "sv": "Hej! Förlåt väntan, jag läser din fråga nu.",
    "fr": "Bonjour ! Désolé pour l'attente, je lis votre question.",
    "id": "Halo! Maaf menunggu, saya baca pertanyaan Anda dulu.",
}
AGENT_GENERIC = {
    "en": ("Let me check that for you.", "Could you give me your order number?", "Thanks!"),
    "fi": ("Tarkistan asian.", "Voisitko kertoa tilausnumerosi?", "Kiitos!"),
    "sv": ("Jag kollar det åt dig.", "Kan du ge mig ditt ordernummer?", "Tack!"),
    "fr": ("Je vérifie pour vous.", "Pouvez-vous me donner votre numéro de commande ?", "Merci !"),
    "id": ("Saya cek dulu ya.", "Boleh minta nomor pesanan Anda?", "Terima kasih!"),
}
AGENT_ANYTHING_ELSE = {
    "en": "Is there anything else I can help you with?",
    "fi": "Voinko auttaa vielä jossain muussa?",
    "sv": "Finns det något mer jag kan hjälpa till med?",
    "fr": "Puis-je vous aider pour autre chose ?",
    "id": "Ada lagi yang bisa saya bantu?",
}
COMMENTS_GOOD = {
    "en": ("Quick and helpful, thanks!", "Great service", "Solved my problem in minutes"),
    "fi": ("Nopeaa ja avuliasta, kiitos!", "Loistavaa palvelua", "Ongelma ratkesi heti"),
    "sv": ("Snabbt och hjälpsamt, tack!", "Jättebra service", "Löste mitt problem direkt"),
    "fr": ("Rapide et efficace, merci !", "Super service", "Problème réglé en quelques minutes"),
    "id": ("Cepat dan membantu, terima kasih!", "Pelayanan bagus", "Masalah saya cepat beres"),
}
COMMENTS_BAD = {
    "en": ("Waited far too long", "The bot did not understand me", "Still not solved"),
    "fi": ("Piti odottaa aivan liian kauan", "Botti ei ymmärtänyt minua", "Ei vieläkään ratkaistu"),
    "sv": ("Fick vänta alldeles för länge", "Boten förstod mig inte", "Fortfarande inte löst"),
    "fr": ("Beaucoup trop d'attente", "Le bot ne m'a pas compris", "Toujours pas résolu"),
    "id": ("Menunggu terlalu lama", "Bot tidak mengerti saya", "Masih belum selesai"),
}
PRIVATE_NOTES = (
    "VIP customer, handle with care",
    "Checked the order in the ERP: shipped yesterday",
    "Possible fraud, verify identity before refunding",
    "Escalate to billing if this comes back",
    "Customer already contacted us last week about this",
    "Known bug, see incident channel",
)
SYSTEM_WAITING = "Waiting for an available agent..."
SYSTEM_LEFT = "The customer left the chat"
BOT_ANSWERS = _BOT_ANSWERS
AGENT_ANSWERS = _AGENT_ANSWERS
